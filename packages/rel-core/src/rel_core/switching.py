"""Switching registrar: ``initialize()`` called again, and closing one.

The new registrar adopts the old one's armed watchers (I/O armed afresh in
its poller, timers pushed on its heap with their deadlines, signals moved
with their routes and pending deliveries, calls still queued, TLS readers
carried), under both registrars' locks: from the moment the old one forwards
(calls.py's ``_hand_over``), a call that reaches it goes to the new one and
waits there until it holds everything the old one had.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, cast

from .calls import LoopThread, _get_ident
from .listener import SocketIO, WatcherHost
from .logs import logger
from .signals import SignalDelivery
from .timerheap import TimerHeap

if TYPE_CHECKING:  # pragma: no cover
    from .wakeup import Waker


class Switching(LoopThread):
    """A registrar's ``adopt()`` and ``close()`` (see the module docstring)."""

    _io: Dict[int, List[Optional[SocketIO]]]
    _kmask: Dict[int, int]
    _timers: TimerHeap
    _sigs: SignalDelivery
    _carry: Dict[SocketIO, None]
    _waker: Waker

    if TYPE_CHECKING:  # provided by the registrar this is part of
        def _arm_io_here(self, w: SocketIO) -> None: ...

        def _poller_close(self) -> None: ...

        def init(self) -> None: ...

    def adopt(self, old: Switching) -> None:
        """Take over every armed watcher of ``old`` (``initialize()`` switching
        registrar), then close ``old``; watchers still pointing at it follow.
        RuntimeError while ``old``'s loop runs."""
        # Both locks: from the moment ``old`` forwards, calls reach this one,
        # and wait here until it holds everything ``old`` had.
        host = cast(WatcherHost, self)  # what the watchers will call from now on
        with self._lock, old._lock:
            ios = [w for slot in old._io.values() for w in slot
                   if w is not None and w.active and not w.internal]
            timers = [(d, t) for d, s, t in old._timers._heap if t._seq == s]
            signals = old._sigs.armed()
            calls = old._hand_over(self)  # RuntimeError while its loop runs
            for w in ios:
                w.registrar = host
                w.active = False  # armed (and counted) afresh here
                try:
                    self._arm_io_here(w)
                except OSError as exc:  # its fd was closed meanwhile
                    logger.warning("rel: dropped %r (fd %d) while switching registrar: %s", w, w.fd, exc)
            for deadline, t in sorted(timers, key=lambda e: (e[0], e[1]._seq)):
                t.registrar = host
                t._seq = None  # its entry belongs to the old heap
                self._timers.push(t, deadline)
            for sw in signals:
                sw.registrar = host
            old._sigs.move_to(self._sigs)  # routes and pending deliveries: no handler changes
            self._calls.extend(calls)
            for w in old._carry:  # bytes pending in a TLS reader's socket: still due
                if w.active:
                    self._carry[w] = None
            old._carry.clear()
            old._close_poller()

    def close(self) -> None:
        """Restore signal handlers and release the poller and the waker.
        RuntimeError while the loop runs in another thread."""
        if self._owner is not None and self._owner != _get_ident():
            raise RuntimeError("rel: cannot close a registrar whose loop runs in another thread")
        if self._closed or self._moved_to is not None:
            return
        self.init()
        with self._lock:
            self._closed = True  # from now on, arming here is an error
            self._close_poller()

    def _close_poller(self) -> None:
        self._io.clear()
        self._kmask.clear()
        self._waker.close()
        self._poller_close()
