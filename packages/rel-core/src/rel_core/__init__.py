"""rel-core: rel's engine and its pyevent-compatible facade.

``import rel_core as rel`` gives the same functions as rel 0.4.9.27's
``import rel`` (all but rel-util's ``buffwrite``/``release_buff``)::

    import rel_core as rel

    def tick():
        print("tick")
        return True          # truthy: run again in a second

    rel.timeout(1, tick)
    rel.signal(2, rel.abort)  # Ctrl-C stops the loop
    rel.dispatch()
"""

from ._version import __version__
from .rel import (
    EV_PERSIST, EV_READ, EV_SIGNAL, EV_TIMEOUT, EV_WRITE,
    abort, abort_branch, dispatch, error, event, init, initialize, is_running, loop, override,
    pause, read, report, resume, safe_read, set_sleep, set_turbo, set_verbose, signal, start,
    stop, supported_methods, thread, tick, timeout, write,
)

__all__ = [
    "override", "supported_methods", "initialize", "set_verbose", "set_sleep", "set_turbo",
    "safe_read", "read", "write", "error", "timeout", "signal", "event", "dispatch", "pause",
    "resume", "loop", "report", "is_running", "abort", "abort_branch", "thread", "tick", "init",
    "start", "stop", "EV_PERSIST", "EV_READ", "EV_SIGNAL", "EV_TIMEOUT", "EV_WRITE", "__version__",
]
