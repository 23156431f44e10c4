"""``override()``: make ``import event`` (pyevent) give rel's facade.

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


def override() -> None:
    """Install a module named ``event`` in ``sys.modules`` exposing pyevent's
    names from rel. Idempotent."""
    if isinstance(sys.modules.get("event"), FakeEventModule):
        return
    from . import rel

    fake = FakeEventModule("event", "pyevent's interface, provided by rel %s." % (rel.__version__,))
    for name in PYEVENT_NAMES:
        setattr(fake, name, getattr(rel, name))
    fake.__version__ = rel.__version__  # type: ignore[attr-defined]
    sys.modules["event"] = fake
