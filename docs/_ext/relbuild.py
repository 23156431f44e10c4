"""What rel's pages take from the rest of the repository, made at build time.

- ``_generated/deviations.md``: the migration list, from ``packages/rel/DEVIATIONS.md``
  through the parser the ``differential`` session uses (one source).
- ``_generated/bench_*.md`` and ``_generated/*.svg``: the performance tables and charts,
  from ``_data/bench.json`` (``benchcharts.py``).
- ``_generated/engine.svg``: the engine diagram, from ``diagrams/engine.dot`` when
  Graphviz's ``dot`` is installed, else the hand-kept ``diagrams/engine.svg``.

It also makes the reference strict: a public name without a docstring is a warning
(an error under ``-W``), and a reference to the standard library that no inventory
resolves is shown as code instead of failing (see conf.py's intersphinx).
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import shutil
import subprocess
import sys

from sphinx.util import logging

import benchcharts

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(HERE)
GENERATED = os.path.join(HERE, "_generated")
logger = logging.getLogger(__name__)
# sys.stdlib_module_names is 3.10+; the names the reference's type hints use, for 3.9
STDLIB = getattr(sys, "stdlib_module_names", frozenset(
    {"asyncio", "collections", "logging", "os", "selectors", "signal", "socket", "ssl", "threading",
     "types", "typing"}))


def write_if_changed(path: str, text: str) -> None:
    """Write ``path`` only when its text changes, so Sphinx rebuilds only what changed."""
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def deviations_page() -> str:
    """DEVIATIONS.md's entries as MyST, grouped by kind."""
    path = os.path.join(ROOT, "tests", "differential", "deviations.py")
    spec = importlib.util.spec_from_file_location("rel_deviations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    entries = module.load()
    titles = {"fixed": "Defects of 0.4.9.27 that are fixed",
              "changed": "Deliberate changes of behaviour",
              "internal": "Names of the old implementation that are gone"}
    out = []
    for kind in module.KINDS:
        mine = [e for e in entries if e.kind == kind]
        out.append("## %s (%d)\n" % (titles[kind], len(mine)))
        for e in mine:
            out.append("### %s\n\n%s\n" % (e.title, e.reason))
    return "\n".join(out)


def diagram() -> None:
    src = os.path.join(HERE, "diagrams", "engine.dot")
    dest = os.path.join(GENERATED, "engine.svg")
    dot = shutil.which("dot")
    if dot:
        svg = subprocess.run([dot, "-Tsvg", src], check=True, capture_output=True, text=True).stdout
        write_if_changed(dest, svg)
    else:
        logger.info("relbuild: no Graphviz 'dot': the hand-kept diagrams/engine.svg is shown")
        with open(os.path.join(HERE, "diagrams", "engine.svg"), encoding="utf-8") as fh:
            write_if_changed(dest, fh.read())


def generate(app) -> None:
    os.makedirs(GENERATED, exist_ok=True)
    write_if_changed(os.path.join(GENERATED, "deviations.md"), deviations_page())
    for name, text in benchcharts.build(os.path.join(HERE, "_data", "bench.json")).items():
        write_if_changed(os.path.join(GENERATED, name), text)
    diagram()


def check_docstring(app, what, name, obj, options, lines) -> None:
    """A public name that autodoc documents must say what it promises."""
    if what == "module" or any(part.startswith("_") for part in name.split(".")):
        return
    if what == "attribute" or what == "data":
        return  # constants are described by their module's docstring
    if not any(line.strip() for line in lines):
        logger.warning("public %s %s has no docstring", what, name, type="relbuild", subtype="docstring")


def stdlib_as_code(app, env, node, contnode):
    """A standard-library name no inventory resolves: shown as code, not an error."""
    if node.get("refdomain") != "py":
        return None
    top = node.get("reftarget", "").split(".")[0]
    if top in STDLIB or hasattr(builtins, top) or top == "NoneType":
        return contnode
    return None


def setup(app):
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-docstring", check_docstring)
    app.connect("missing-reference", stdlib_as_code, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
