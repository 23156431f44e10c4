"""The compatibility package holds no logic: every name is rel-core's (or a
sibling's) own object, and every old submodule path imports."""

import importlib

import pytest

import rel
import rel_core

# SPEC.md's table of module-level names, all of them in rel-core but the two
# that live in rel-util.
FACADE = """override supported_methods initialize set_verbose set_sleep set_turbo safe_read
read write error timeout signal event dispatch pause resume loop report is_running abort
abort_branch thread tick init start stop EV_PERSIST EV_READ EV_SIGNAL EV_TIMEOUT EV_WRITE""".split()

SUBMODULES = {
    "rel.rel": "read write timeout dispatch initialize override supported_methods",
    "rel.listener": "Event SocketIO Signal Timer contains "
                    "EV_PERSIST EV_READ EV_SIGNAL EV_TIMEOUT EV_WRITE",
    "rel.registrar": "Registrar SelectRegistrar PollRegistrar EpollRegistrar KqueueRegistrar "
                     "set_sleep set_turbo",
    "rel.errors": "AbortBranch",
    "rel.util": "log set_verbose Basic loudListen listen emit ask when transpire",
    "rel.buff": "BuffWriter buffwrite release_buff",
    "rel.tools": "Timer timerCLI",
}


@pytest.mark.parametrize("name", FACADE)
def test_facade_name_is_rel_cores_own_object(name):
    assert getattr(rel, name) is getattr(rel_core, name)


def test_buff_names_come_from_rel_util():
    import rel_util.buff

    assert rel.buffwrite is rel_util.buff.buffwrite
    assert rel.release_buff is rel_util.buff.release_buff


@pytest.mark.parametrize("path", sorted(SUBMODULES))
def test_old_submodule_path_imports_with_its_names(path):
    module = importlib.import_module(path)
    missing = [n for n in SUBMODULES[path].split() if not hasattr(module, n)]
    assert not missing, "%s lacks %s" % (path, missing)


def test_one_name_from_each_dependency():
    from rel.registrar import EpollRegistrar
    from rel.tools import timerCLI

    import rel_registrars
    import rtimer

    assert rel.read is rel_core.read
    assert EpollRegistrar is rel_registrars.EpollRegistrar
    assert timerCLI is rtimer.timerCLI


def test_versions_in_lock_step():
    assert rel.__version__ == rel_core.__version__


def test_plain_import_binds_the_originals_submodules():
    # In a fresh interpreter, so no earlier import in this test run can bind them.
    # rel 0.4.9.27 binds exactly these; dez calls rel.util.log() after `import rel`.
    import subprocess
    import sys

    code = ("import rel, types; print(' '.join(sorted(k for k, v in vars(rel).items() "
            "if isinstance(v, types.ModuleType) and not k.startswith('_'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert out == ["buff", "errors", "listener", "registrar", "rel", "util", "version"]
    assert subprocess.run(
        [sys.executable, "-c", "import rel; rel.util.log('x'); print(rel.version.__version__)"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip() == rel.__version__


# Names rel 0.4.9.27's submodules had beyond SPEC.md's list, which the
# differential session found missing: each is the sibling's own object.
MORE = {
    "rel.rel": {"log": "rel_core.logs", "EpollRegistrar": "rel_registrars",
                "PollRegistrar": "rel_registrars", "SelectRegistrar": "rel_registrars",
                "KqueueRegistrar": "rel_registrars"},
    "rel.registrar": {"Event": "rel_core.listener", "SocketIO": "rel_core.listener",
                      "Signal": "rel_core.listener", "Timer": "rel_core.listener",
                      "contains": "rel_core.listener", "AbortBranch": "rel_core.errors",
                      "Basic": "rel_core.logs"},
    "rel.listener": {"Basic": "rel_core.logs"},
    "rel.buff": {"read": "rel_core", "write": "rel_core", "error": "rel_core", "log": "rel_core.logs"},
    "rel.util": {"listeners": "rel_util.bus", "happenings": "rel_util.bus"},
    "rel.tools": {"RT_MEDIA": "rtimer"},
}


@pytest.mark.parametrize("path, name", [(p, n) for p in sorted(MORE) for n in sorted(MORE[p])])
def test_originals_other_names_are_the_siblings_own(path, name):
    module = importlib.import_module(path)
    source = importlib.import_module(MORE[path][name])
    assert getattr(module, name) is getattr(source, name)
    assert name in dir(module)


def test_not_listening_is_the_bus_own():
    import rel.util
    import rel_util.bus

    assert rel.util.notListening is rel_util.bus._not_listening


def test_values_the_original_rebinds_are_read_when_used(monkeypatch):
    """A plain re-export would freeze SLEEP_SEC at import: these follow set_sleep(),
    set_turbo(), set_verbose(), loudListen(), safe_read() and the first use."""
    import rel.registrar
    import rel.rel
    import rel.util
    import rel_core.logs
    import rel_core.registrar
    import rel_core.rel
    import rel_util.bus

    monkeypatch.setattr(rel_core.registrar, "SLEEP_SEC", rel_core.registrar.SLEEP_SEC)
    monkeypatch.setattr(rel_core.registrar, "SLEEP_TURBO", rel_core.registrar.SLEEP_TURBO)
    monkeypatch.setattr(rel_util.bus, "LOUD", rel_util.bus.LOUD)
    monkeypatch.setattr(rel_core.logs, "verbose", rel_core.logs.verbose)
    monkeypatch.setattr(rel_core.rel, "SAFE_READ", False)
    rel.set_sleep(0.25)
    rel.set_turbo(0.125)
    assert (rel.registrar.SLEEP_SEC, rel.registrar.SLEEP_TURBO) == (0.25, 0.125)
    rel.util.loudListen(False)
    assert rel.util.LOUD is False
    rel.util.set_verbose(True)
    assert rel.util.verbose is True
    rel.util.set_verbose(False)
    assert rel.util.verbose is False
    assert rel.rel.SAFE_READ is False
    rel.safe_read()
    assert rel.rel.SAFE_READ is True
    assert rel.rel.registrar is rel_core.rel.registrar
    assert rel.rel.running is False
    for module in (rel.registrar, rel.rel, rel.util):
        with pytest.raises(AttributeError):
            module.no_such_name  # noqa: B018
