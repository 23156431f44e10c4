"""Every name and submodule path of SPEC.md, in ``rel`` and in ``rel_core``.

The lists are in tools/spec_names.py (check_installs.py uses them too);
``test_lists_match_spec`` keeps them equal to SPEC.md itself.
"""

from __future__ import annotations

import importlib
import re
import sys

import pytest
import rel
import rel_core
from compat_support import ROOT, load_tool

names = load_tool("spec_names")
SPEC = ROOT.parent / "shared" / "SPEC.md"


@pytest.mark.parametrize("name", names.FACADE)
def test_rel_has_every_name(name):
    assert hasattr(rel, name)


@pytest.mark.parametrize("name", names.CORE)
def test_rel_core_has_every_name_but_rel_utils(name):
    assert hasattr(rel_core, name)
    if name == "__version__":
        assert rel.__version__ == rel_core.__version__
    else:
        assert getattr(rel, name) is getattr(rel_core, name), "rel.%s is not rel_core's own object" % name


def test_buffwrite_and_release_buff_are_rel_utils():
    import rel_util.buff

    assert rel.buffwrite is rel_util.buff.buffwrite
    assert rel.release_buff is rel_util.buff.release_buff
    assert not hasattr(rel_core, "buffwrite") and not hasattr(rel_core, "release_buff")


@pytest.mark.parametrize("name, value", sorted(names.EV_VALUES.items()))
def test_ev_constants_keep_their_values(name, value):
    assert getattr(rel, name) == getattr(rel_core, name) == value


@pytest.mark.parametrize("path", sorted(names.SUBMODULES))
def test_submodule_path_imports_with_its_names(path):
    module = importlib.import_module(path)
    missing = [n for n in names.SUBMODULES[path] if not hasattr(module, n)]
    assert not missing, "%s lacks %s" % (path, missing)


def test_rel_rel_is_the_facade():
    import rel.rel

    for name in names.CORE:
        if name != "__version__":
            assert getattr(rel.rel, name) is getattr(rel_core, name), name


def test_websocket_client_dispatcher_names():
    """websocket-client's run_forever(dispatcher=rel) calls these on the module."""
    for name in names.WEBSOCKET_CLIENT:
        assert callable(getattr(rel, name)), name


def test_override_installs_pyevents_names():
    saved = sys.modules.pop("event", None)
    try:
        rel.override()
        rel.override()  # idempotent
        import event

        missing = [n for n in names.PYEVENT if not hasattr(event, n)]
        assert not missing
        assert event.read is rel.read and event.dispatch is rel.dispatch
        assert event.__version__ == rel.__version__
    finally:
        sys.modules.pop("event", None)
        if saved is not None:
            sys.modules["event"] = saved


def spec_text() -> str:
    if not SPEC.is_file():
        pytest.skip("no %s beside the repository" % SPEC)
    return SPEC.read_text()


def test_lists_match_spec():
    """tools/spec_names.py says what SPEC.md says."""
    text = spec_text()
    table = text.split("## Module `rel`: public names", 1)[1].split("\n## ", 1)[0]
    spec_names = set()
    for cell in re.findall(r"^\| (`[^|]*`) \|", table, re.M):  # the first column
        for code in re.findall(r"`([^`]*)`", cell):  # `read(sock, cb, *args)`, `EV_READ=2 EV_WRITE=4`
            words = [code.split("(")[0]] if "(" in code else code.split()
            spec_names.update(w.split("=")[0] for w in words)
    assert spec_names == set(names.FACADE)

    section = text.split("## Submodule paths kept importable", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(section.split())
    paths = dict(re.findall(r"`(rel\.\w+)`(?: \(`([^`]*)`\))?", flat))
    assert set(paths) == set(names.SUBMODULES)
    for path, listed in paths.items():
        expected = set(listed.replace("EV_*", " ".join(names.EV)).split())
        assert expected <= set(names.SUBMODULES[path]), path
