"""SPEC.md's public names and submodule paths, as data.

Used by ``tools/check_installs.py`` (in the venv that holds the built ``rel``)
and by ``tests/compat``; ``tests/compat/test_names.py`` checks this list against
SPEC.md itself when ``../shared/SPEC.md`` is there.
"""

from __future__ import annotations

from typing import Dict, Tuple

EV = ("EV_TIMEOUT", "EV_READ", "EV_WRITE", "EV_SIGNAL", "EV_PERSIST")
EV_VALUES = {"EV_TIMEOUT": 1, "EV_READ": 2, "EV_WRITE": 4, "EV_SIGNAL": 8, "EV_PERSIST": 16}

# "Module `rel`: public names", in the table's order.
FACADE: Tuple[str, ...] = (
    "read", "write", "error", "timeout", "signal", "event", "dispatch", "loop", "abort",
    "abort_branch", "pause", "resume", "is_running", "init", "initialize", "supported_methods",
    "report", "tick", "thread", "start", "stop", "override", "set_verbose", "set_sleep",
    "set_turbo", "safe_read", "buffwrite", "release_buff",
) + EV + ("__version__",)

# The two names of the table that live in rel-util: every other one is in rel_core too.
UTIL_ONLY = ("buffwrite", "release_buff")
CORE = tuple(n for n in FACADE if n not in UTIL_ONLY)

# "Submodule paths kept importable": path -> the names SPEC lists for it. rel.rel
# lists none; rel 0.4.9.27's rel.rel held the facade, so the facade is required.
SUBMODULES: Dict[str, Tuple[str, ...]] = {
    "rel.rel": CORE,
    "rel.listener": ("Event", "SocketIO", "Signal", "Timer", "contains") + EV,
    "rel.registrar": ("Registrar", "SelectRegistrar", "PollRegistrar", "EpollRegistrar", "KqueueRegistrar",
                      "set_sleep", "set_turbo"),
    "rel.errors": ("AbortBranch",),
    "rel.util": ("log", "set_verbose", "Basic", "loudListen", "listen", "emit", "ask", "when", "transpire"),
    "rel.buff": ("BuffWriter", "buffwrite", "release_buff"),
    "rel.tools": ("Timer", "timerCLI"),
}

# The names pyevent programs find in the `event` module that override() installs.
PYEVENT = EV + ("abort", "dispatch", "event", "init", "loop", "read", "signal", "timeout", "write",
                "__version__")

# What websocket-client's run_forever(dispatcher=rel) calls on the module it is given.
WEBSOCKET_CLIENT = ("read", "timeout", "signal", "abort", "dispatch", "buffwrite")
