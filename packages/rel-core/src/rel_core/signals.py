"""Signal delivery: the handler rel installs, the wake-up fd, the restore rules.

Some facts about signals in CPython, which every rule below follows from:

* Handlers belong to the process, not to a loop, and only the main thread may
  set them (``signal.signal``) or the wake-up fd (``signal.set_wakeup_fd``).
  A Python handler runs in the main thread, between two bytecodes, whichever
  thread runs a loop.
* The wake-up fd is one per process. The C-level handler writes the signal's
  number to it as one byte, at once: that ends a poller wait the Python
  handler could not (a signal landing just before the loop enters the kernel
  would otherwise wait for the next event). asyncio's loop sets it too, and
  reads the bytes to learn which of *its* signals arrived.

The rules:

1. **One handler, routed.** rel installs one module-level handler for every
   signal it watches. It looks up which registrars have watchers for the
   signal (``_routes``, changed under ``_lock``) and gives each the delivery:
   queued, and the loop woken through the registrar's own waker. Switching
   registrar moves a route, not a handler: it works from any thread, and no
   handler ever belongs to a closed registrar.
2. **Saved and put back.** The first watcher of a signal saves the handler it
   finds; when the last goes, the saved one is put back, unless the
   application installed a handler of its own after rel's (that one stays).
   Off the main thread it cannot be put back then: the route goes at once,
   the saved handler is kept, and the main thread finishes the job at its next
   visit here (any signal call in the main thread), or at the signal's next
   delivery: rel's handler, finding no route, puts the saved handler back and
   hands it that very delivery (calls it; re-raises a default action).
3. **The wake-up fd is never taken from anyone.** rel sets one only where none
   is set, and then it is rel's own process-wide socketpair (``_channel``),
   never a registrar's: it stays open for the life of the process, so it is
   never a stale fd, and a byte never lands in a file that reused a number.
   Every registrar with signal watchers watches its reader. Where another
   owner (asyncio's loop) holds the wake-up fd, rel leaves it: their bytes
   reach them, and rel's Python handler wakes rel's loop itself. When rel's
   last signal watcher goes (main thread), rel unsets the wake-up fd if it is
   still rel's, and touches it not at all otherwise.

The asyncio registrar hands its signals to asyncio's ``add_signal_handler``
where asyncio can own them (``aio_signals.py``), and uses this module where
it cannot, or after switching registrar (:meth:`SignalDelivery.route`).
"""

from __future__ import annotations

import collections
import signal as _signal
import threading
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, List, Optional

from .logs import logger
from .wakeup import Waker

if TYPE_CHECKING:  # pragma: no cover
    from .listener import Signal

_lock = threading.RLock()
_routes: Dict[int, List[SignalDelivery]] = {}  # {signum: [delivery]}; lists replaced, never mutated
_saved: Dict[int, Any] = {}  # {signum: handler found before rel's}, until put back
_channel: Optional[Waker] = None  # rel's wake-up fd, made once (see rule 3)
_wakeup_is_ours = False  # rel set the process's wake-up fd to the channel


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def channel() -> Optional[Waker]:
    """rel's wake-up channel, or None while rel has never needed one."""
    return _channel


def _handler(signum: int, frame: Any) -> None:
    """The one handler rel installs (rule 1)."""
    routes = _routes.get(signum)
    if routes:
        for delivery in routes:
            delivery.deliver(signum)
        return
    # No watcher any more: rel's last one went off the main thread (rule 2).
    with _lock:
        old = _restore(signum) if signum in _saved else _signal.SIG_DFL
        _settle()
    if callable(old):
        old(signum, frame)
    else:  # SIG_DFL (None: set outside Python, put back as SIG_DFL) or SIG_IGN, restored:
        _signal.raise_signal(signum)  # the kernel acts on it as if rel had never been here


def _install(sig: int) -> None:
    """Make rel's handler the one for ``sig`` (main thread, under _lock)."""
    if _signal.getsignal(sig) is _handler:
        return  # still ours: its saved handler is the one to put back
    old = _signal.getsignal(sig)
    _take_wakeup_fd()  # first, so a signal is never missed
    # As rel 0.4.9.27: no siginterrupt(sig, False). Restarted system calls
    # would hold the main thread's handler (rel's delivery) back until a
    # blocking call there (input(), a read) returns; PEP 475 retries EINTR.
    _signal.signal(sig, _handler)  # raises for SIGKILL & co
    _saved[sig] = old


def _restore(sig: int) -> Any:
    """Put back the handler saved for ``sig`` (main thread, under _lock),
    unless the application replaced rel's meanwhile. Returns the saved one."""
    old = _saved.pop(sig)
    if _signal.getsignal(sig) is _handler:
        _signal.signal(sig, old if old is not None else _signal.SIG_DFL)
    return old


def _settle() -> None:
    """The main thread's visit (rule 2): put back every handler whose signal
    lost its last watcher, and the wake-up fd once no signal is watched."""
    if not _main_thread():
        return
    for sig in [s for s in _saved if not _routes.get(s)]:
        _restore(sig)
    if not _routes:
        _give_back_wakeup_fd()


def _take_wakeup_fd() -> None:
    global _channel, _wakeup_is_ours
    if _channel is None:
        _channel = Waker()
    ours = _channel.wakeup_fileno()
    previous = _signal.set_wakeup_fd(ours, warn_on_full_buffer=False)
    if previous in (-1, ours):
        _wakeup_is_ours = True
        return
    try:
        _signal.set_wakeup_fd(previous)  # someone else's (asyncio's): theirs stays
        _wakeup_is_ours = False
    except (OSError, ValueError):  # closed by its owner, who forgot to unset it
        _wakeup_is_ours = True


def _give_back_wakeup_fd() -> None:
    global _wakeup_is_ours
    if not _wakeup_is_ours or _channel is None:
        return
    _wakeup_is_ours = False
    current = _signal.set_wakeup_fd(-1)
    if current not in (-1, _channel.wakeup_fileno()):
        try:
            _signal.set_wakeup_fd(current)  # set by someone after us: theirs stays
        except (OSError, ValueError):  # and closed since: -1 is right
            pass


class SignalDelivery:
    """One registrar's signal watchers, and the deliveries queued for it.

    ``wake()`` wakes the registrar's loop (any thread); ``watch(channel)`` asks
    the registrar to watch the reader of rel's wake-up channel (a
    :class:`~rel_core.wakeup.Waker`, drained on readability), or to stop
    with ``watch(None)``. The loop reads ``watchers`` (``{signum: [Signal]}``,
    in arming order) and ``queue`` (``deque[signum]``, delivered and not yet
    handled); neither object is ever replaced.
    """

    __slots__ = ("watchers", "queue", "_wake", "_watch")

    def __init__(self, wake: Callable[[], None], watch: Callable[[Optional[Waker]], None]) -> None:
        self.watchers: Dict[int, List[Signal]] = {}
        self.queue: Deque[int] = collections.deque()
        self._wake = wake
        self._watch = watch

    def deliver(self, signum: int) -> None:
        """Called by rel's handler (main thread, between two bytecodes)."""
        self.queue.append(signum)
        self._wake()

    def arm(self, w: Signal) -> None:
        """Arm ``w``; from another thread than the main one it stays unarmed
        (logged). Raises for a signal that cannot be caught."""
        if not _main_thread():
            logger.info("rel: signal(%d) not armed: signal handlers can only be set "
                        "from the main thread, and this is %s",
                        w.sig, threading.current_thread().name)
            return
        with _lock:
            _settle()
            if w.active:
                return
            watchers = self.watchers.get(w.sig)
            if watchers is None:
                try:
                    _install(w.sig)
                except BaseException:
                    _settle()  # the wake-up fd may have been taken for this one
                    raise
                _routes[w.sig] = _routes.get(w.sig, []) + [self]
                watchers = self.watchers[w.sig] = []
            watchers.append(w)
            w.active = True
        if _channel is not None:  # outside _lock: the registrar takes its own lock
            self._watch(_channel)  # (a no-op when it already watches it)

    def disarm(self, w: Signal) -> None:
        """Disarm ``w`` (any thread); the last watcher of its signal gives the
        signal back (rule 2)."""
        with _lock:
            watchers = self.watchers.get(w.sig)
            was_active, w.active = w.active, False
            if not was_active or watchers is None or w not in watchers:
                return
            watchers.remove(w)
            last = not watchers and self._drop(w.sig)
            _settle()
        if last:
            self._watch(None)

    def reset(self, sig: int) -> None:
        """Disarm every watcher of ``sig`` and give the signal back."""
        with _lock:
            for w in self.watchers.get(sig, ()):
                w.active = False
            last = sig in self.watchers and self._drop(sig)
            _settle()
        if last:
            self._watch(None)

    def reset_all(self) -> None:
        """:meth:`reset` every signal, and forget the ones not yet handled."""
        for sig in list(self.watchers):
            self.reset(sig)
        self.queue.clear()

    def armed(self) -> List[Signal]:
        """Every armed watcher, in arming order per signal."""
        return [w for ws in self.watchers.values() for w in ws]

    def move_to(self, new: SignalDelivery) -> None:
        """Switching registrar: ``new`` takes every watcher, route and pending
        delivery of this one. Any thread: no handler changes."""
        with _lock:
            for sig, ws in self.watchers.items():
                new.watchers.setdefault(sig, []).extend(ws)
                routes = [d for d in _routes.get(sig, []) if d is not self and d is not new]
                _routes[sig] = routes + [new]
            had = bool(self.watchers)
            self.watchers.clear()
            new.queue.extend(self.queue)
            self.queue.clear()
            if had and new.watchers:
                new._watch(_channel)

    def route(self, sig: int, saved: Any) -> None:
        """Deliver ``sig`` here through rel's handler from now on, its watchers
        already in ``watchers`` (another owner had it for them, such as the
        asyncio registrar's loop); ``saved`` is the handler to put back after
        the last one. Main thread; the caller watches the channel."""
        with _lock:
            _install(sig)
            _saved[sig] = saved
            if self not in _routes.get(sig, []):
                _routes[sig] = _routes.get(sig, []) + [self]

    def _drop(self, sig: int) -> bool:
        """Forget ``sig``'s watchers and route; True if none is left here."""
        del self.watchers[sig]
        routes = [d for d in _routes.get(sig, []) if d is not self]
        if routes:
            _routes[sig] = routes
        else:
            _routes.pop(sig, None)
        return not self.watchers
