"""``override()``'s work: make ``import event`` (pyevent) give rel's facade.

Old pyevent programs (dez, for one) call ``rel.override()`` once and then use
``event.read``, ``event.dispatch``... unchanged.
"""

from __future__ import annotations

import sys
import types

PYEVENT_NAMES = (
    "EV_PERSIST", "EV_READ", "EV_SIGNAL", "EV_TIMEOUT", "EV_WRITE",
    "abort", "dispatch", "event", "init", "loop", "read", "signal", "timeout", "write",
)


class FakeEventModule(types.ModuleType):
    """The module installed as ``event``: pyevent's names, rel's functions."""


def install(facade: types.ModuleType) -> None:
    """Install a module named ``event`` in ``sys.modules`` exposing pyevent's
    names from ``facade`` (rel's, which calls this as ``override()``).
    Idempotent."""
    if isinstance(sys.modules.get("event"), FakeEventModule):
        return
    version = facade.__version__
    fake = FakeEventModule("event", "pyevent's interface, provided by rel %s." % (version,))
    for name in PYEVENT_NAMES:
        setattr(fake, name, getattr(facade, name))
    fake.__version__ = version  # type: ignore[attr-defined]
    sys.modules["event"] = fake
