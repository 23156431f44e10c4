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
