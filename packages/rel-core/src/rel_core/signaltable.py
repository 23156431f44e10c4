"""A registrar's signal watchers, and running their callbacks.

The delivery itself (rel's handler, the wake-up fd, the restore rules) is
:class:`~rel_core.signals.SignalDelivery`'s, one per registrar, whose dict of
watchers and queue of deliveries the loop reads at every pass. Arming,
disarming and resetting go to it under the registrar's lock, so that a
switch of registrar (which holds the lock) is either done, and the call
forwarded to the new registrar, or not begun.
"""

from __future__ import annotations

from typing import Deque, Dict, List

from .calls import LoopThread
from .errors import AbortBranch
from .listener import Signal
from .signals import SignalDelivery


class SignalTable(LoopThread):
    """The signal watchers of a registrar (see the module docstring)."""

    _sigs: SignalDelivery
    _signals: Dict[int, List[Signal]]  # the delivery's own dict: {signum: [Signal]}
    _sigq: Deque[int]  # the delivery's own deque: signals delivered, not yet handled

    def _arm_signal(self, w: Signal) -> None:
        with self._lock:
            if self._moved_to is None:
                return self._sigs.arm(w)
        return self._forward("_arm_signal", (w,))  # type: ignore[no-any-return]

    def _disarm_signal(self, w: Signal) -> None:
        with self._lock:
            if self._moved_to is None:
                return self._sigs.disarm(w)
        return self._forward("_disarm_signal", (w,))  # type: ignore[no-any-return]

    def _reset_signal(self, sig: int) -> None:
        with self._lock:
            if self._moved_to is None:
                return self._sigs.reset(sig)
        return self._forward("_reset_signal", (sig,))  # type: ignore[no-any-return]

    def _run_signals(self) -> None:
        sigq = self._sigq
        while sigq:
            sig = sigq.popleft()
            for w in tuple(self._signals.get(sig, ())):
                if w.active:
                    try:
                        w.cb(*w.args)
                    except AbortBranch:
                        self.log("AbortBranch")
