"""rel-core's modules import one another one way only.

Every import statement counts, wherever it stands: at the top, under
``if TYPE_CHECKING:``, inside a function. Read from the sources with ``ast``
(nothing is imported to find them), so an import that only type checkers or
a rarely taken branch see is seen here too.

* No circle: a module may not reach itself through the modules it imports.
* The facade is the top floor: ``rel_core.rel`` (and the package itself,
  which re-exports it) is imported by nothing below it; only the modules
  built on the facade (``rel_core.aio``, the asyncio facade) may import it.
"""

from __future__ import annotations

import ast
import os
from typing import Dict, List, Set

import rel_core

PACKAGE = "rel_core"
SOURCES = os.path.dirname(os.path.abspath(rel_core.__file__))
#: the facade, and the package that re-exports it
FACADE = {"rel_core", "rel_core.rel"}
#: what is built on the facade, beside it on the top floor
ABOVE_FACADE = {"rel_core", "rel_core.rel", "rel_core.aio"}


def module_name(filename: str) -> str:
    stem = filename[:-3]
    return PACKAGE if stem == "__init__" else "%s.%s" % (PACKAGE, stem)


def modules() -> Dict[str, str]:
    """{module name: its source file}"""
    return {module_name(f): os.path.join(SOURCES, f)
            for f in sorted(os.listdir(SOURCES)) if f.endswith(".py")}


def imports_of(name: str, path: str, known: Set[str]) -> Set[str]:
    """The rel_core modules that ``name``'s source imports, anywhere in it."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    package = name if name == PACKAGE else name.rsplit(".", 1)[0]
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            # `from . import x` imports the submodule x; `from .x import y`, the module x
            targets = [root + "." + alias.name for alias in node.names]
            if node.module:
                targets.append(root)
        else:
            continue
        for target in targets:
            if target in known and target != name:
                found.add(target)
    return found


def graph() -> Dict[str, Set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """Every circle found by a depth-first walk, as the path that closes it."""
    found: List[List[str]] = []
    state: Dict[str, int] = {}  # 1: on the current path, 2: done
    path: List[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_the_walk_sees_imports_anywhere() -> None:
    """The walk itself: a TYPE_CHECKING import and one inside a function count."""
    source = ("from typing import TYPE_CHECKING\n"
              "if TYPE_CHECKING:\n    from .registrar import Registrar\n"
              "def f():\n    from . import rel\n")
    known = {"rel_core.registrar", "rel_core.rel", "rel_core.x"}
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(source)
    try:
        assert imports_of("rel_core.x", fh.name, known) == {"rel_core.registrar", "rel_core.rel"}
    finally:
        os.unlink(fh.name)
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_circle_among_rel_cores_modules() -> None:
    edges = graph()
    assert len(edges) > 10  # the walk found the package
    assert cycles(edges) == []


def test_nothing_below_the_facade_imports_it() -> None:
    offenders = {name: sorted(targets & FACADE) for name, targets in graph().items()
                 if name not in ABOVE_FACADE and targets & FACADE}
    assert offenders == {}
