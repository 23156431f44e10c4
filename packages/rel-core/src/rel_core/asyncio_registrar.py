"""The ``asyncio`` registrar: rel's engine, with an asyncio loop doing the waiting.

The way tornado's IOLoop runs on asyncio (``tornado/platform/asyncio.py``) and
Twisted's ``asyncioreactor`` does: rel keeps its own tables and timer heap, and
asyncio's loop only tells it when to look.

* An fd goes on ``loop.add_reader`` / ``loop.add_writer``. When asyncio calls
  the handler, it runs one pass of the base engine (``Registrar._run(False,
  False)``, the one place rel calls callbacks), whose poller wait returns just
  that fd. The handler does no work of its own: the pass runs the fd's
  watchers, then the timers due, then the signals delivered, with rel's
  semantics (a watcher deleted earlier in the same asyncio iteration does not
  run: its handle is cancelled by ``remove_reader``, and rel looks each watcher
  up anyway).
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
* An fd closed while registered is forgotten by epoll without a word, and by
  asyncio's loop too: while ``rel.dispatch()`` or ``await
  rel_core.aio.dispatch()`` waits for rel to end and no timer is armed, the
  loop looks for such fds once IDLE_AUDIT seconds pass with no pass of rel's,
  as the other registrars' silent waits do. The clock is a daemon thread
  (``_IdleClock``) that asks the loop by ``call_soon_threadsafe``, not a
  ``call_later``: a pending handle makes every select of asyncio's take a
  timeout, which cost each wake-up 3-4 µs here (``nox -s bench``, aioloop),
  and rel adds no handle to asyncio's. Nothing waiting for rel to end: no
  audit, no thread.

Which loop: the running loop of the thread that creates the registrar, arms a
watcher or awaits :func:`rel_core.aio.dispatch`, if there is one; otherwise the
loop it was bound to, as long as that one is not closed; otherwise a new one,
``asyncio.new_event_loop()``'s (the event loop policy's up to Python 3.15, so
``uvloop.install()`` gives uvloop's: see ``_aiocompat.py``), which
``rel.dispatch()`` runs until rel is done, and which the registrar closes when
it moves to another loop or is closed itself. A registrar whose loop stopped and closed (the end of
``asyncio.run()``) moves its watchers to the next loop it meets.

``rel.dispatch()`` and ``rel.loop()`` cannot run inside a running asyncio loop
(they would block it, or nest loops): they raise RuntimeError naming the
awaitable ``rel_core.aio.dispatch()``. Inside a pass of a dispatching rel,
``rel.dispatch()`` does nothing, as on every registrar.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import sys
import threading
import time
from asyncio.events import _get_running_loop
from typing import Any, Callable, Dict, List, Optional, Tuple

if sys.platform == "win32":
    # Under a real CPython for Windows (the nox windows session) the registrar
    # failed the conformance suite: Windows' select() refuses a closed socket
    # with WSAENOTSOCK inside asyncio's own wait, where rel cannot drop the
    # watcher, and cross-thread close of the loop misbehaves. Refused rather
    # than half working; the select and selectors registrars run there.
    raise ImportError("the 'asyncio' registrar does not run on Windows yet: use 'select' or "
                      "'selectors' (rel's default), in a thread of its own beside asyncio's loop")

from . import _aiocompat
from . import registrar as _engine
from . import signals as _signals
from .aio_signals import LoopSignals
from .errors import AbortBranch
from .listener import Signal, Timer
from .logs import logger
from .selector import SelectorRegistrar

_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE
_get_ident = threading.get_ident

Ready = Tuple[Tuple[int, int], ...]


class _IdleClock:
    """The idle audit's clock while something waits for rel to end: a daemon
    thread that, every IDLE_AUDIT seconds with no pass of rel's in between,
    asks the loop for the audit (``call_soon_threadsafe``, the one way into
    the loop from another thread). It stands where a ``call_later`` handle
    would, and is cancelled as one is."""

    __slots__ = ("_stop",)

    def __init__(self, reg: AsyncioRegistrar, loop: asyncio.AbstractEventLoop) -> None:
        self._stop = threading.Event()
        threading.Thread(target=self._run, args=(reg, loop), name="rel-idle-audit", daemon=True).start()

    def _run(self, reg: AsyncioRegistrar, loop: asyncio.AbstractEventLoop) -> None:
        seen = reg.tick
        while not self._stop.wait(_engine.IDLE_AUDIT):
            if reg.tick != seen:  # a pass ran: not idle
                seen = reg.tick
                continue
            try:
                loop.call_soon_threadsafe(reg._on_idle, self)
            except RuntimeError:  # the loop closed
                return

    def cancel(self) -> None:
        self._stop.set()


def _new_loop() -> asyncio.AbstractEventLoop:
    """``asyncio.new_event_loop()`` (the policy's, while Python has policies:
    uvloop's once installed); on Windows a selector loop where that would be
    the proactor loop, which has no ``add_reader``."""
    if _aiocompat.proactor_by_default():
        return asyncio.SelectorEventLoop()
    return asyncio.new_event_loop()


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


class AsyncioRegistrar(SelectorRegistrar):
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

    def use_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run on ``loop`` from now on (e.g. ``uvloop.new_event_loop()``);
        every watcher moves to it. Not while rel dispatches."""
        if self._finish is not None or self._running:
            raise RuntimeError("rel: cannot change loops while rel dispatches")
        self._bind(loop)

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

    def _place_idle(self) -> None:
        # Only while something waits for rel to end: the audit is how a wait
        # learns that nothing is left. Rel's watchers running in an asyncio
        # program that awaits nothing of rel's get no wake-up beyond asyncio's own.
        loop = self._loop
        if loop is not None and self._finish is not None:
            self._idle_handle = _IdleClock(self, loop)

    def _stop_idle(self) -> None:
        clock, self._idle_handle = self._idle_handle, None
        if clock is not None:
            clock.cancel()

    def _on_idle(self, clock: _IdleClock) -> None:
        """IDLE_AUDIT seconds with no pass: if no timer is armed, look for fds
        closed while registered (see the module docstring)."""
        if clock is self._idle_handle and self._finish is not None and not self._timers.live:
            self._audit_fds()
            self._pass()  # may end rel; runs the ondrop hooks' timers

    def _failed(self, exc: BaseException) -> None:
        """A callback raised ``exc``: it ends the dispatch (or awaitable) that
        waits, as on every registrar; with nobody waiting, the loop's exception
        handler gets it, as for any asyncio callback."""
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise exc
        if self._finish is not None and self._error is None:
            self._error = exc
            self._running = False
            self._end()
        elif self._loop is not None:
            self._loop.call_exception_handler({
                "message": "rel: exception in a callback (nothing awaits rel_core.aio.dispatch())",
                "exception": exc,
            })

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

    def _end(self) -> None:
        finish, self._finish = self._finish, None
        if finish is not None:
            finish()

    def _take_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

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

    # -- which loop -----------------------------------------------------------------------
    # The base engine queues a call from another thread while ``_owner`` names
    # the loop's thread. Here that is true only while the loop runs (or rel is
    # dispatching): asyncio says when a loop stops to no one but its runner,
    # so a stopped loop must not leave a stale owner behind.
    @property  # type: ignore[override]
    def _owner(self) -> Optional[int]:
        owner = self._owner_ident
        if owner is None or self._finish is not None or self._running:
            return owner
        loop = self._loop
        return owner if loop is not None and loop.is_running() else None

    @_owner.setter
    def _owner(self, ident: Optional[int]) -> None:
        self._owner_ident = ident

    def _attach(self) -> None:
        """Bind to this thread's running loop when ours is not running; forget
        ours once it is closed."""
        running = _get_running_loop()
        loop = self._loop
        if running is not None:
            if running is not loop and (loop is None or not loop.is_running()):
                self._bind(running)
        elif loop is not None:
            if loop.is_closed():
                self._unbind()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        self._attach()
        loop = self._loop
        if loop is None:
            loop = self._own_loop = _new_loop()
            self._bind(loop)
        return loop

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if isinstance(loop, getattr(asyncio, "ProactorEventLoop", ())):
            raise RuntimeError(
                "rel: the 'asyncio' registrar needs a loop with add_reader(), and Windows' "
                "proactor loop has none: run a selector loop (asyncio.SelectorEventLoop, "
                "or asyncio.run(main(), loop_factory=asyncio.SelectorEventLoop))")
        with self._lock:
            old = self._loop
            self._unbind()
            self._loop = loop
            if loop.is_running():  # in this thread: callers pass only such a loop
                self._owner = _get_ident()
            if self._loop_sigs.saved and old is not loop:
                self._move_signals(old, loop)
            for fd, exc in self._selector.bind(loop):  # type: ignore[attr-defined]
                self._kmask.pop(fd, None)
                self._drop_fd(fd, exc)
            self._sync_timer()
            if self._calls or self._sigq or self._carry:
                loop.call_soon(self._pass)

    def _unbind(self) -> None:
        loop = self._loop
        if loop is None:
            return
        with self._lock:
            self._loop = None
            if self._finish is None:
                self._owner = None
            if self._timer_handle is not None:
                self._timer_handle.cancel()
                self._timer_handle = self._timer_due = None
            self._selector.unbind()  # type: ignore[attr-defined]
            self._stop_idle()
            if loop is self._own_loop and not loop.is_running():
                self._own_loop = None
                loop.close()

    def _loop_gone(self, loop: asyncio.AbstractEventLoop) -> None:
        """``loop`` closed under us while another thread queued a call: with no
        loop thread left, that call is applied here."""
        with self._lock:
            if self._loop is loop:
                self._unbind()
                self._run_calls()

    # -- I/O: arming binds to the running loop --------------------------------------------
    def _arm_io(self, w: Any) -> None:
        self._attach()
        super()._arm_io(w)

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

    def has_work(self) -> bool:
        return bool(self._tasks) or super().has_work()

    # -- signals: asyncio's add_signal_handler where it can own them (aio_signals.py),
    # else signals.py as on every registrar; the watchers in the base's table either way.
    def _on_signal(self, sig: int) -> None:
        """asyncio's loop calls this on each delivery of a signal it owns for rel."""
        if sig not in self._signals:  # its last watcher went off the main thread
            self._give_back_signal(sig)
            old = self._loop_sigs.handler_before(sig)
            if callable(old):  # that delivery is the old handler's
                old(sig, None)
            return
        self._sigq.append(sig)
        self._pass()

    def _arm_signal(self, w: Signal) -> None:
        if not _signals._main_thread():
            return super()._arm_signal(w)  # not armed, logged, as on every registrar
        for sig in [s for s in self._loop_sigs.saved if s not in self._signals]:
            self._give_back_signal(sig)  # the main thread's visit: left off another thread
        self._attach()
        with self._lock:
            if self._moved_to is not None:
                return self._forward("_arm_signal", (w,))  # type: ignore[no-any-return]
            sig = w.sig
            watchers = self._signals.get(sig)
            if sig not in self._loop_sigs.saved:
                loop = self._loop
                if watchers is not None or loop is None or not loop.is_running():
                    # routed by signals.py already, or rel.dispatch() will run the loop,
                    # maybe in another thread: rel's own routing (see aio_signals.py)
                    return super()._arm_signal(w)
                if not self._loop_sigs.take(loop, sig):
                    return super()._arm_signal(w)
                watchers = self._signals[sig] = []
            if not w.active:
                assert watchers is not None
                watchers.append(w)
                w.active = True
        return None

    def _disarm_signal(self, w: Signal) -> None:
        if w.sig in self._loop_sigs.saved:
            with self._lock:
                if self._moved_to is not None:
                    return self._forward("_disarm_signal", (w,))  # type: ignore[no-any-return]
                watchers = self._signals.get(w.sig)
                was_active, w.active = w.active, False
                if was_active and watchers is not None and w in watchers:
                    watchers.remove(w)
                    if not watchers:
                        del self._signals[w.sig]
                        self._give_back_signal(w.sig)
        else:
            super()._disarm_signal(w)
        if self._finish is not None and not self._in_pass:
            self._poke()
        return None

    def _reset_signal(self, sig: int) -> None:
        super()._reset_signal(sig)
        if sig in self._loop_sigs.saved:
            self._give_back_signal(sig)

    def _give_back_signal(self, sig: int) -> None:
        """No watcher of ``sig`` is left: asyncio lets it go, the old handler
        comes back (the main thread only may set handlers: from another thread,
        the loop's thread does it, as soon as it runs, if that is the main one)."""
        if sig not in self._loop_sigs.saved or sig in self._signals:
            return
        if _signals._main_thread():
            self._loop_sigs.give_back(self._loop, sig)
            return
        logger.info("rel: signal %d: its handler is put back at its next delivery, or the main "
                    "thread's next signal call on this registrar", sig)

    def _move_signals(self, old: Optional[asyncio.AbstractEventLoop],
                      new: asyncio.AbstractEventLoop) -> None:
        """The signals asyncio owned for rel go to ``new``; those it refuses
        (another thread's loop, a loop without signal handlers) to signals.py."""
        routed = False
        for sig, saved in self._loop_sigs.move(old, new).items():
            if _signals._main_thread():
                self._sigs.route(sig, saved)
                routed = True
            else:
                logger.warning("rel: signal %d: its watchers get no delivery on a loop of another "
                               "thread (signal handlers belong to the main thread)", sig)
        if routed:
            self._watch_channel(_signals.channel())

    def init(self) -> None:
        """As :meth:`Registrar.init`; the signals asyncio owned for rel are given back."""
        super().init()
        if self._moved_to is None:
            self._loop_sigs.give_back_all(self._loop)

    def _hand_over(self, new: Any) -> Any:
        # Switching registrar: the signals asyncio owns for rel go to signals.py's
        # routing (the new registrar's from now on: SignalDelivery.move_to).
        calls = super()._hand_over(new)  # RuntimeError while the loop runs: nothing changed
        loop = self._loop
        for sig, saved in list(self._loop_sigs.saved.items()):
            del self._loop_sigs.saved[sig]
            if loop is not None and not loop.is_closed():
                loop.remove_signal_handler(sig)
            self._sigs.route(sig, saved)
        return calls

    # -- running --------------------------------------------------------------------------
    def _sync_loop(self, what: str, make: bool = True) -> asyncio.AbstractEventLoop:
        if _get_running_loop() is not None:
            raise RuntimeError(
                "rel.%s() was called inside a running asyncio loop, which it would block: "
                "on the 'asyncio' registrar rel's watchers already fire as that loop runs; "
                "`await rel_core.aio.dispatch()` waits until rel is done" % (what,))
        return self._ensure_loop() if make else None  # type: ignore[return-value]

    def dispatch(self) -> None:
        """Run the asyncio loop until rel is done: :meth:`abort`, :meth:`pause`
        or nothing registered. Inside a running asyncio loop: RuntimeError
        (``await rel_core.aio.dispatch()`` is the way there)."""
        if self._moved_to is not None:
            return self._moved_to.dispatch()
        if self._running:
            return None  # already dispatching: in a callback, another thread, or awaited
        if not self.has_work():
            self._sync_loop("dispatch", make=False)
            return None
        loop = self._sync_loop("dispatch")
        if loop.is_running():
            return None  # running in another thread
        try:
            successor = self._claim(True)
        except RuntimeError:
            return None
        if successor is not None:
            return successor.dispatch()  # type: ignore[no-any-return]
        try:
            if self.has_work():
                self._serve(loop, once=False)
        finally:
            self._running = False
            self._release()
        self._take_error()
        return None

    def loop(self, nonblock: bool = False) -> None:
        """Run the asyncio loop until one pass of rel has run (one that does
        not wait, with ``nonblock`` or when nothing is registered)."""
        if self._moved_to is not None:
            return self._moved_to.loop(nonblock)
        if self._in_pass:  # as on every registrar (the base's _claim says so)
            raise RuntimeError("rel: the loop cannot be run from inside one of its callbacks")
        loop = self._sync_loop("loop")
        if loop.is_running():
            raise RuntimeError("rel: the loop is already running in another thread")
        successor = self._claim(False)
        if successor is not None:
            return successor.loop(nonblock)  # type: ignore[no-any-return]
        try:
            if nonblock or not self.has_work():
                loop.call_soon(self._pass)
            self._serve(loop, once=True)
        finally:
            self._release()
        self._take_error()
        return None

    def _serve(self, loop: asyncio.AbstractEventLoop, once: bool) -> None:
        self._error = None
        self._once = once
        self._finish = loop.stop
        if self._calls:
            loop.call_soon(self._pass)
        if self._idle_handle is None and self._io_count and not self._timers.live:
            self._place_idle()
        try:
            loop.run_forever()
        finally:
            self._finish = None
            self._once = False
            self._stop_idle()

    async def _await_done(self) -> None:
        """The body of ``rel_core.aio.dispatch()``."""
        loop = asyncio.get_running_loop()
        self._attach()
        if self._loop is not loop:
            raise RuntimeError("rel runs on another asyncio loop, running in another thread")
        if self._running:
            raise RuntimeError("rel is already dispatching (rel.dispatch() or another "
                               "await rel_core.aio.dispatch())")
        if not self.has_work():
            return
        done = loop.create_future()

        def finish() -> None:
            if not done.done():
                error, self._error = self._error, None
                if error is not None:
                    done.set_exception(error)
                else:
                    done.set_result(None)

        self._error = None
        self._running = True
        self._owner = _get_ident()
        self._finish = finish
        if self._calls:
            loop.call_soon(self._pass)
        if self._idle_handle is None and self._io_count and not self._timers.live:
            self._place_idle()
        try:
            await done
        finally:
            if self._finish is finish:
                self._finish = None
            self._running = False
            self._stop_idle()

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

