"""Signal delivery: the handlers rel installs, and the signals they record.

Signal handlers live in the process, not in the loop: they are installed in
the calling thread (which must be the main one), not queued for the loop. A
handler runs in the main thread between two bytecodes, maybe while another
thread runs the loop: it records the signal and wakes the loop, which runs the
watchers' callbacks (the registrar's ``_run_signals``).

State, per registrar:

* ``watchers``: ``{signum: [Signal]}``, in arming order; a signal is in it
  exactly while rel's handler is installed for it;
* ``queue``: ``deque[signum]``, delivered and not yet handled;
* ``_saved``: ``{signum: handler}``, what the handler was before rel's.
"""

from __future__ import annotations

import collections
import signal as _signal
import threading
from typing import TYPE_CHECKING, Any, Deque, Dict, List

from .logs import logger

if TYPE_CHECKING:  # pragma: no cover
    from .listener import Signal
    from .wakeup import Waker


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class SignalDelivery:
    """One registrar's signal watchers and the handlers installed for them."""

    __slots__ = ("watchers", "queue", "_saved", "_waker", "_lock")

    def __init__(self, waker: Waker, lock: Any) -> None:
        self.watchers: Dict[int, List[Signal]] = {}
        self.queue: Deque[int] = collections.deque()
        self._saved: Dict[int, Any] = {}
        self._waker = waker
        self._lock = lock

    def arm(self, w: Signal) -> None:
        """Arm ``w``: the first watcher of a signal installs rel's handler.
        From another thread than the main one, ``w`` stays unarmed (logged)."""
        with self._lock:
            if w.active:
                return
            if not _main_thread():
                logger.info("rel: signal(%d) not armed: signal handlers can only be set "
                            "from the main thread, and this is %s",
                            w.sig, threading.current_thread().name)
                return
            watchers = self.watchers.get(w.sig)
            if watchers is None:
                old = _signal.getsignal(w.sig)
                self._waker.catch_signals()  # first, so a signal is never missed
                try:
                    _signal.signal(w.sig, self._on_signal)  # raises for SIGKILL & co
                except BaseException:
                    if not self.watchers:  # roll back: the wake-up fd was ours for this one
                        self._waker.release_signals()
                    raise
                try:
                    _signal.siginterrupt(w.sig, False)
                except (AttributeError, OSError, ValueError):  # pragma: no cover
                    pass
                self._saved[w.sig] = old
                watchers = self.watchers[w.sig] = []
            watchers.append(w)
            w.active = True

    def disarm(self, w: Signal) -> None:
        """Disarm ``w``; the last watcher of its signal restores the handler."""
        with self._lock:
            watchers = self.watchers.get(w.sig)
            if not w.active or watchers is None or w not in watchers:
                w.active = False
                return
            w.active = False
            watchers.remove(w)
            if not watchers:
                self._restore(w.sig)

    def reset(self, sig: int) -> None:
        """Disarm every watcher of ``sig`` and restore its handler."""
        with self._lock:
            for w in self.watchers.get(sig, ()):
                w.active = False
            if sig in self.watchers:
                self._restore(sig)

    def reset_all(self) -> None:
        """:meth:`reset` every signal, and forget the ones not yet handled."""
        for sig in list(self.watchers):
            self.reset(sig)
        self.queue.clear()

    def armed(self) -> List[Signal]:
        """Every armed watcher, in arming order per signal."""
        return [w for ws in self.watchers.values() for w in ws]

    def _restore(self, sig: int) -> None:
        del self.watchers[sig]
        old = self._saved.pop(sig, _signal.SIG_DFL)
        if _main_thread():
            _signal.signal(sig, old if old is not None else _signal.SIG_DFL)
            if not self.watchers:
                self._waker.release_signals()
        else:
            logger.info("rel: signal %d keeps rel's handler: handlers can only be "
                        "restored from the main thread", sig)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.queue.append(signum)
        self._waker.wake()
