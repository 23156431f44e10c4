"""rel (Registered Event Listener): pyevent's interface in pure Python.

The compatibility package: ``import rel`` gives every name rel 0.4.9.27 gave,
re-exported from rel-core, rel-registrars, rel-util and rtimer. It holds no
logic. New code that wants the minimal install can write
``import rel_core as rel`` instead.
"""

from rel_core import (
    EV_PERSIST, EV_READ, EV_SIGNAL, EV_TIMEOUT, EV_WRITE,
    abort, abort_branch, dispatch, error, event, init, initialize, is_running, loop, override,
    pause, read, report, resume, safe_read, set_sleep, set_turbo, set_verbose, signal, start,
    stop, supported_methods, thread, tick, timeout, write,
)
from rel_util.buff import buffwrite, release_buff

from ._version import __version__

# rel 0.4.9.27's ``import rel`` binds these submodules as attributes, and its users
# rely on it (dez calls ``rel.util.log(...)`` after a plain ``import rel``).
from . import buff, errors, listener, registrar, rel, util, version  # noqa: E402,F401

__all__ = [
    "override", "supported_methods", "initialize", "set_verbose", "set_sleep", "set_turbo",
    "safe_read", "read", "write", "error", "timeout", "signal", "event", "dispatch", "pause",
    "resume", "loop", "report", "is_running", "abort", "abort_branch", "thread", "tick", "init",
    "start", "stop", "EV_PERSIST", "EV_READ", "EV_SIGNAL", "EV_TIMEOUT", "EV_WRITE",
    "buffwrite", "release_buff", "__version__",
]
