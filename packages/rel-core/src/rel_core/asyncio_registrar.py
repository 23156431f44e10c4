"""The ``asyncio`` registrar: rel's engine, with an asyncio loop doing the waiting.

The way tornado's IOLoop runs on asyncio (``tornado/platform/asyncio.py``) and
Twisted's ``asyncioreactor`` does: rel keeps its own tables and timer heap, and
asyncio's loop only tells it when to look.

* An fd goes on ``loop.add_reader`` / ``loop.add_writer``. When asyncio calls
  the handler, it runs the fd's watcher through the engine's one callback
  site (``Registrar._run_io``), or, when anything else waits (calls queued
  from another thread, an fd to probe, debug mode), one pass of the base
  engine (``Registrar._run(False, False)``) whose poller wait returns just
  that fd, with rel's semantics (a watcher deleted earlier in the same
  asyncio iteration does not run: its handle is cancelled by
  ``remove_reader``, and rel looks each watcher up anyway).
* The timer heap's earliest deadline is one ``loop.call_at`` handle, set again
  after each pass and when a timer is armed outside one. The two clocks are
  never assumed equal: the handle is placed at ``loop.time()`` plus the time
  left on rel's monotonic clock, and a pass run early just places it again.
* A call from another thread is queued by the base engine, which wakes the
  loop with ``loop.call_soon_threadsafe``: nothing rel does from another
  thread touches the loop's internals.
* Signals go to ``loop.add_signal_handler`` where asyncio can own them (the
  loop runs in the main thread when the watcher is armed, has signal
  handlers, and the wake-up fd is nobody else's: ``aio_signals.py``): asyncio's
  loop calls back, and a pass runs the signal's watchers. They behave as on
  every registrar: persistent, ``delete()`` of the last watcher puts back the
  handler from before rel, a watcher armed from another thread stays unarmed
  (logged). Where asyncio cannot own one (Windows' selector loop), rel's own
  routing (``signals.py``) delivers it, as on every registrar; so do signals
  armed before ``initialize(['asyncio'])`` switched to this registrar.
* Its floors, one module each, one concern each, this class on top:
  which loop rel runs on (``aio_binding.py``), the signals asyncio's loop
  owns for rel (``aio_signals.py``), running the loop and waiting for rel to
  end, with the idle audit of closed fds (``aio_running.py``). This module
  keeps the passes, the timer handle, and what asyncio's loop calls.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

if sys.platform == "win32":
    # Under a real CPython for Windows (the nox windows session) the registrar
    # failed the conformance suite: Windows' select() refuses a closed socket
    # with WSAENOTSOCK inside asyncio's own wait, where rel cannot drop the
    # watcher, and cross-thread close of the loop misbehaves. Refused rather
    # than half working; the select and selectors registrars run there.
    raise ImportError("the 'asyncio' registrar does not run on Windows yet: use 'select' or "
                      "'selectors' (rel's default), in a thread of its own beside asyncio's loop")

from .aio_binding import Ready
from .aio_running import RunsOnLoop, _IdleClock
from .aio_signals import LoopSignals
from .errors import AbortBranch
from .listener import Timer

_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE
_get_ident = threading.get_ident


class _FdHandler:
    """What asyncio calls when one fd is ready: its bound methods are the
    ``add_reader``/``add_writer`` callbacks, made once per registration.

    The common case (the fd's watcher of that kind is armed, nothing is
    queued from another thread or carried from a pass, debug mode off) runs
    that watcher through the engine's one callback site,
    ``Registrar._run_io``, as ``Registrar._run`` would for that one fd: no
    pass to set up, no dict lookup (the fd's slot of rel's table is held
    here; it is the same list for as long as the fd is registered). Timers
    due and signals need nothing here: asyncio runs their own handles after
    the I/O handles of the same iteration, as a pass would. Anything else
    (an error-only fd to probe, calls queued, debug's counting wait) is a
    pass of the base engine. The verbose mode's "tick" line is logged by
    passes only."""

    __slots__ = ("reg", "slot", "ready_r", "ready_w", "plain")

    def __init__(self, reg: AsyncioRegistrar, fd: int) -> None:
        self.reg = reg
        # A stale or missing slot only sends every event to the pass, which looks again.
        self.slot = reg._io.get(fd) or [None, None, None]
        self.ready_r: Ready = ((fd, _READ),)
        self.ready_w: Ready = ((fd, _WRITE),)
        # The pass's own wait: another one (debug mode's, which counts passes: busy_loop.py,
        # instruments.py) sends every event to the pass.
        self.plain = reg._next_pop

    def on_read(self) -> None:
        self._on_ready(0, self.ready_r)

    def on_write(self) -> None:
        self._on_ready(1, self.ready_w)

    def _on_ready(self, kind: int, ready: Ready) -> None:
        reg = self.reg
        w = self.slot[kind]
        if w is None or not w.active or reg._calls or reg._poller_wait is not self.plain:
            return reg._pass(ready)
        reg.tick += 1
        try:
            reg._run_io(w)  # a disarm in there may end rel (_poke), once this callback is over
        except BaseException as exc:
            reg._failed(exc)
        if reg._finish is not None and (reg._once or not reg._running or reg._poked):
            reg._poked_end()
        return None


class _LoopSelector:
    """selectors' ``register``/``modify``/``unregister``, on a loop's
    ``add_reader``/``add_writer``, so that the portable registrar's handling
    of error-only fds (probe, park) is reused as it is."""

    __slots__ = ("loop", "events", "reg")

    def __init__(self, reg: AsyncioRegistrar) -> None:
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.events: Dict[int, int] = {}  # {fd: EVENT_READ | EVENT_WRITE}
        self.reg = reg

    def _add(self, fd: int, events: int) -> None:
        loop = self.loop
        assert loop is not None
        handler = _FdHandler(self.reg, fd)
        if events & _READ:
            loop.add_reader(fd, handler.on_read)
        if events & _WRITE:
            try:
                loop.add_writer(fd, handler.on_write)
            except BaseException:
                if events & _READ:
                    loop.remove_reader(fd)
                raise

    def _remove(self, fd: int, events: int) -> None:
        loop = self.loop
        assert loop is not None
        if events & _READ:
            loop.remove_reader(fd)
        if events & _WRITE:
            loop.remove_writer(fd)

    def register(self, fd: int, events: int) -> None:
        if fd in self.events:
            raise KeyError("fd %d is already registered" % (fd,))
        if self.loop is None:  # between two loops (one closed, the next not met yet)
            os.fstat(fd)  # OSError now for an fd that is not open, as a poller would
        else:
            self._add(fd, events)
        self.events[fd] = events

    def modify(self, fd: int, events: int) -> None:
        old = self.events[fd]
        if self.loop is not None and old != events:
            self._remove(fd, old & ~events)
            try:
                self._add(fd, events & ~old)
            except BaseException:
                del self.events[fd]
                self._remove(fd, old & events)
                raise
        self.events[fd] = events

    def unregister(self, fd: int) -> None:
        events = self.events.pop(fd)
        if self.loop is not None:
            self._remove(fd, events)

    def bind(self, loop: asyncio.AbstractEventLoop) -> List[Tuple[int, OSError]]:
        """Put every fd on ``loop``; return those refused (closed meanwhile)."""
        self.loop = loop
        refused = []
        for fd, events in list(self.events.items()):
            try:
                self._add(fd, events)
            except OSError as exc:
                del self.events[fd]
                refused.append((fd, exc))
        return refused

    def unbind(self) -> None:
        """Take every fd off the loop (left alone if it is closed)."""
        loop, self.loop = self.loop, None
        if loop is not None and not loop.is_closed():
            for fd, events in self.events.items():
                if events & _READ:
                    loop.remove_reader(fd)
                if events & _WRITE:
                    loop.remove_writer(fd)

    def close(self) -> None:
        self.unbind()
        self.events.clear()


class _LoopWaker:
    """The cross-thread wake-up: a pass scheduled with ``call_soon_threadsafe``."""

    __slots__ = ("reg",)

    def __init__(self, reg: AsyncioRegistrar) -> None:
        self.reg = reg

    def wake(self) -> None:
        reg = self.reg
        loop = reg._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(reg._pass)
        except RuntimeError:  # closed: no thread will run it again
            reg._loop_gone(loop)

    def close(self) -> None:
        pass


class AsyncioRegistrar(RunsOnLoop):
    """rel's engine on an asyncio event loop (see the module docstring)."""

    name = "asyncio"
    _REPORTS_KEYS = False
    # The wait (a pass's dict.pop) never blocks, so the engine's idle audit
    # never triggers: the registrar runs its own (_on_idle).
    _FORGETS_CLOSED = False

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
        """``loop``: the asyncio loop to run on (default: see the module docstring)."""
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._own_loop: Optional[asyncio.AbstractEventLoop] = None  # made here, closed here
        self._in_pass = False
        self._poked = False  # a _poked_end is scheduled
        self._timer_handle: Optional[asyncio.TimerHandle] = None
        self._timer_due: Optional[float] = None  # the deadline _timer_handle is for
        self._finish: Optional[Callable[[], None]] = None  # ends a dispatch()/loop()/await
        self._once = False  # loop(): finish after one pass
        self._error: Optional[BaseException] = None  # a callback's, for whoever waits
        self._tasks = 0  # coroutines started by rel_core.aio.run(), not delivered yet
        self._idle_handle: Optional[_IdleClock] = None  # the closed-fd audit's clock
        self._loop_sigs = LoopSignals(self._on_signal)  # the signals asyncio's loop owns for rel
        super().__init__()
        # A loop from the start, so that an fd asyncio refuses (a regular file,
        # for epoll) fails at the call that registers it.
        if loop is not None:
            self._bind(loop)
        else:
            self._ensure_loop()


    # -- the poller primitive -----------------------------------------------------------
    def _poller_open(self) -> None:
        self._selector = _LoopSelector(self)  # type: ignore[assignment]
        self._error_only = set()
        self._parked = set()
        self._counted = False  # no select() room to count: asyncio holds the fds
        # A pass costs what _run() costs to start, so the names it binds at its
        # start are made cheap: the wait is a C call (dict.pop of the fds that
        # woke this pass, under the one timeout a pass is run with, 0.0), and
        # the bound methods are bound once.
        self._next: Dict[float, Ready] = {}
        self._next_pop = self._poller_wait = self._next.pop  # type: ignore[assignment]
        self._poller_probe = self._poller_probe  # type: ignore[method-assign]
        self._run_io = self._run_io  # type: ignore[method-assign]

    def _poller_close(self) -> None:
        self._unbind()
        self._selector.close()
        own, self._own_loop = self._own_loop, None
        if own is not None and not own.is_running() and not own.is_closed():
            own.close()

    def _open_waker(self) -> None:
        self._waker = _LoopWaker(self)  # type: ignore[assignment]

    # -- the pass: every asyncio handle of rel's ends here ------------------------------
    def _pass(self, ready: Ready = ()) -> None:
        """One pass of the base engine over ``ready``, then the timer handle and
        the end of a dispatch looked at again."""
        self._next[0.0] = ready
        self._in_pass = True
        try:
            self._run(False, False)
        except BaseException as exc:
            self._in_pass = False
            self._failed(exc)
        self._in_pass = False
        self._after_pass()

    def _after_pass(self) -> None:
        """The timer handle placed again, the idle audit placed, rel ended if done."""
        timers = self._timers
        if timers.live:
            if timers._heap[0][0] != self._timer_due:
                self._sync_timer()
        else:
            if self._timer_handle is not None:
                self._sync_timer()
            if self._idle_handle is None and self._io_count:
                self._place_idle()
        # has_work(), its common answer first: a live I/O watcher means yes.
        if self._finish is not None and (self._once or not self._running
                                         or not self._io_count and not self.has_work()):
            self._end()

    def _on_timer(self) -> None:
        """The call_at handle: the timers due run as in a pass (``Registrar._run``'s
        timer step, ``_run_timers`` and ``_run_timer`` inlined: a wake-up by a
        timer is what this handle is for), without the rest of a pass when
        nothing else waits for one."""
        self._timer_handle = self._timer_due = None
        timers = self._timers
        if not timers.live or self._calls or self._sigq or self._poller_wait is not self._next_pop:
            return self._pass()
        now = time.monotonic()
        heap = timers._heap
        if heap[0][0] <= now:  # else early (asyncio's rounding): only placed again
            self.tick += 1
            self._in_pass = True
            try:
                mark = timers.mark()
                t = timers.pop_due(now, mark)
                while t is not None:
                    gen = t._gen
                    try:
                        keep = t.cb(*t.args)  # type: ignore[misc]
                    except AbortBranch:
                        self.log("AbortBranch")
                    else:
                        if keep and t._gen == gen:
                            timers.push(t, time.monotonic() + t.delay)  # type: ignore[operator]
                    heap = timers._heap
                    t = timers.pop_due(now, mark) if timers.live and heap[0][0] <= now else None
            except BaseException as exc:
                self._in_pass = False
                self._failed(exc)
            self._in_pass = False
        # _after_pass(), its common cases inlined: no timer left, and nothing
        # waits for rel to end, or the audit is placed already.
        if timers.live or self._timer_handle is not None:
            self._after_pass()
        elif self._finish is not None:
            if self._idle_handle is None:
                self._after_pass()
            elif self._once or not self._running or not self._io_count and not self.has_work():
                self._end()
        return None





    def _carry_started(self) -> None:
        """A TLS reader has decrypted bytes pending, and asyncio's loop will
        not report its fd again (see ``Registrar._carry_tls``): a pass runs it
        once what the next iteration finds ready (I/O, timers due) has run, as
        the other registrars' next pass lists carried readers after the
        poller's. A handle queued now would run before those: its first hop
        only queues the pass behind them."""
        loop = self._loop
        if loop is not None:
            loop.call_soon(self._queue_pass)

    def _queue_pass(self) -> None:
        loop = self._loop
        if loop is not None:
            loop.call_soon(self._pass)



    # -- timers ---------------------------------------------------------------------------
    def _sync_timer(self) -> None:
        """Put the call_at handle at the heap's earliest deadline (none: no handle)."""
        handle = self._timer_handle
        timers = self._timers
        due = timers._heap[0][0] if timers.live else None
        if handle is not None:
            if due == self._timer_due:
                return
            handle.cancel()
            self._timer_handle = self._timer_due = None
        loop = self._loop
        if due is None or loop is None:
            return
        self._timer_due = due
        self._timer_handle = loop.call_at(loop.time() + (due - time.monotonic()), self._on_timer)

    def _move_timer(self, t: Timer, deadline: float) -> None:
        self._attach()
        super()._move_timer(t, deadline)
        if not self._in_pass:
            self._sync_timer_here()

    def _sync_timer_here(self) -> None:
        """A timer armed outside a pass: the call_at handle placed again, by
        the loop's thread or while no loop runs (a call queued from another
        thread is applied in a pass, whose end places it)."""
        with self._lock:
            if self._owner is None or self._owner == _get_ident():
                self._sync_timer()








    # -- I/O and ending ------------------------------------------------------------------

    def _disarm_io(self, w: Any) -> None:
        super()._disarm_io(w)
        if self._finish is not None and not self._in_pass:
            self._poke()

    def _cancel_timer(self, t: Timer) -> None:
        super()._cancel_timer(t)
        if self._finish is not None and not self._in_pass:
            self._poke()

    def _poke(self) -> None:
        """Something was deleted outside a pass: rel may be done. Looked at
        once the current callback is over (a loop callback soon), since the
        deletion may come from a rel callback run outside a pass
        (``_FdHandler``, which looks as soon as the callback returns) that
        arms something again before it returns."""
        if not self._poked and self._owner == _get_ident() and self._loop is not None:
            self._poked = True
            self._loop.call_soon(self._poked_end)

    def _poked_end(self) -> None:
        """End rel if it is done (its scheduled look, or a callback's end: first wins)."""
        self._poked = False
        if self._finish is not None and (self._once or not (self._running and self.has_work())):
            self._end()















    def adopt(self, old: Any) -> None:
        """As :meth:`Registrar.adopt`; then the loop is told: the heap's
        earliest timer gets its call_at handle, and what ``old`` had queued
        (calls, signals delivered) a pass."""
        super().adopt(old)
        loop = self._loop
        if loop is not None:  # made by initialize() in this thread: ours to touch
            self._sync_timer()
            if self._calls or self._sigq or self._carry:
                loop.call_soon(self._pass)

    def close(self) -> None:
        """As :meth:`Registrar.close`; the loop is closed only if this registrar made it."""
        if self._loop is not None and self._loop.is_closed():
            self._unbind()
        super().close()

