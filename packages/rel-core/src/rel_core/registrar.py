"""The engine: :class:`Registrar` owns everything but the poller's system call.

It holds the watcher tables, the timer heap, signal delivery, the cross-thread
wake-up and the loop. A subclass supplies only the poller primitive (see "The
poller primitive" below), so each OS poller is one small module.

How one iteration runs (``_run``), and the invariants it keeps:

1. Wait in the poller for exactly as long as the next timer allows: forever when
   there is none, 0 when a call is queued. Never sleep, never wake up for
   nothing: an idle loop costs no CPU.
2. Run the callbacks of the fds reported ready, then the timers due, then the
   signals delivered. A watcher deleted by an earlier callback of the same pass
   does not run: each one is looked up when its turn comes.
3. Callbacks run only here, in the thread that runs the loop, never inside
   another callback. A call from any other thread that changes the tables is
   queued for the loop thread and the loop woken through the waker.
4. A callback's exception leaves the loop through ``loop()``/``dispatch()``; its
   watcher counts as having returned falsy, and the loop can be run again.

The poller primitive (what a subclass provides, all called in one thread at a
time, from the loop thread while it runs):

* ``_poller_open()`` / ``_poller_close()``;
* ``_poller_register(fd, mask)``, ``_poller_modify(fd, mask)``,
  ``_poller_unregister(fd)``, where ``mask`` is an OR of the class attributes
  ``_WANT_READ``, ``_WANT_WRITE`` and ``_WANT_ERROR``; register and modify raise
  OSError for an fd that is not open, unregister may raise OSError for one that
  was closed while registered (it is ignored);
* ``_poller_wait(timeout)`` -> ``[(fd, bits)]``: block up to ``timeout`` seconds
  (None: without limit; never return early unless something is ready, so round
  up to the poller's resolution) and report the ready fds; ``bits`` is tested
  against ``_READY_READ``, ``_READY_WRITE`` and ``_READY_ERROR``. An
  interrupted wait (EINTR) may return ``[]``. An fd found closed may be passed
  to ``_drop_fd`` instead of being reported. A subclass that sets
  ``_REPORTS_KEYS`` reports ``(key, bits)`` instead, where ``key.fd`` is the fd
  (``selectors``' keys): the portable registrar hands on selectors' own list,
  with no second pass over it.
* optionally ``_poller_probe(fd)`` -> ``bits``: for a poller that can only
  report an error condition as readability. When an fd is reported readable
  and has an ``error()`` watcher but no reader, the loop asks it what the
  condition really is and takes the bits it returns in place of the read bit.
"""

from __future__ import annotations

import collections
import functools
import signal as _signal
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from . import logs
from .errors import AbortBranch
from .listener import ERROR, READ, WRITE, Event, FileLike, Signal, SocketIO, Timer, check_open
from .logs import Basic, logger
from .timerheap import TimerHeap
from .wakeup import Waker

# The longest single wait: far-future timers still get a fresh look once a day
# (asyncio's MAXIMUM_SELECT_TIMEOUT), and no poller is asked for more than it takes.
MAX_WAIT = 24 * 3600.0

# rel 0.4.9.27 slept SLEEP_SEC between polls (SLEEP_TURBO while writes were
# pending). This engine blocks in the poller instead, so neither costs latency:
# they are kept, stored and reported, for the programs that set them.
SLEEP_SEC = 0.03
SLEEP_TURBO = 0.0006


def set_sleep(s: float) -> None:
    """Store rel's idle poll interval. The engine blocks in the poller instead
    of sleeping, so this no longer changes latency or CPU use."""
    global SLEEP_SEC
    SLEEP_SEC = s


def set_turbo(s: float) -> None:
    """Store rel's busy poll interval (no effect on this engine; see set_sleep)."""
    global SLEEP_TURBO
    SLEEP_TURBO = s


_get_ident = threading.get_ident


def _loop_thread_only(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``method`` now if no loop is running or we are its thread; otherwise
    queue it for the loop thread and wake the loop."""

    @functools.wraps(method)
    def wrapper(self: Registrar, *args: Any) -> Any:
        if self._moved_to is not None:
            return self._forward(method.__name__, args)
        if self._owner == _get_ident():
            return method(self, *args)
        with self._lock:
            if self._owner is None:  # the loop cannot start while we hold the lock
                return method(self, *args)
            self._calls.append((method, args))
        self._waker.wake()
        return None

    return wrapper


class Registrar(Basic):
    """A complete event loop, minus the poller (see the module docstring).

    Public methods are safe to call from any thread. ``read``, ``write``,
    ``error``, ``timeout``, ``signal`` and ``event`` return armed watchers
    (``event``: unarmed, as pyevent).
    """

    #: the name this registrar is known by in ``initialize()``
    name = "?"
    _WANT_READ = 1
    _WANT_WRITE = 2
    _WANT_ERROR = 4
    _READY_READ = 1
    _READY_WRITE = 2
    _READY_ERROR = 4
    _REPORTS_KEYS = False
    _poller_probe: Optional[Callable[[int], int]] = None

    def __init__(self) -> None:
        self._io: Dict[int, List[Optional[SocketIO]]] = {}  # {fd: [reader, writer, error watcher]}
        self._kmask: Dict[int, int] = {}  # {fd: interest mask given to the poller}
        self._io_count = 0  # armed user I/O watchers
        self._timers = TimerHeap()
        self._signals: Dict[int, List[Signal]] = {}  # {signum: [watcher]}, in arming order
        self._old_handlers: Dict[int, Any] = {}  # {signum: handler before rel's}
        self._sigq: Deque[int] = collections.deque()  # signals delivered, not yet handled
        self._calls: Deque[Tuple[Callable[..., Any], Tuple[Any, ...]]] = collections.deque()
        self._lock = threading.RLock()
        self._owner: Optional[int] = None  # thread ident running loop()/dispatch()
        self._running = False  # dispatch() is looping
        self._moved_to: Optional[Registrar] = None
        self.tick = 0
        self._poller_open()
        self._ready_bits = (self._READY_READ, self._READY_WRITE, self._READY_ERROR)
        self._open_waker()

    def _open_waker(self) -> None:
        """Give the loop its cross-thread wake-up: ``self._waker``, whose
        ``wake()`` ends a blocked wait (a subclass whose loop has its own way
        to be woken, such as asyncio's, supplies another object with ``wake()``
        and ``close()``)."""
        try:
            self._waker = Waker()
        except BaseException:
            self._poller_close()
            raise
        wake = SocketIO(self, "read", self._waker, self._on_wake, arm=False)
        wake.persistent()
        wake.internal = True
        try:
            self._arm_io(wake)
        except BaseException:  # a poller that cannot watch even our socketpair
            self._waker.close()
            self._poller_close()
            raise

    # -- poller primitive: provided by subclasses ---------------------------------
    def _poller_open(self) -> None:
        raise NotImplementedError

    def _poller_close(self) -> None:
        raise NotImplementedError

    def _poller_register(self, fd: int, mask: int) -> None:
        raise NotImplementedError

    def _poller_modify(self, fd: int, mask: int) -> None:
        raise NotImplementedError

    def _poller_unregister(self, fd: int) -> None:
        raise NotImplementedError

    def _poller_wait(self, timeout: Optional[float]) -> List[Tuple[Any, int]]:
        raise NotImplementedError

    # -- watcher factories ----------------------------------------------------------
    def read(self, sock: FileLike, cb: Callable[..., Any], *args: Any) -> SocketIO:
        """Watch ``sock`` for readability: ``cb(*args)`` each time, while it
        returns truthy.

        Raises TypeError (``cb`` not callable, ``sock`` without ``fileno()``),
        ValueError (negative fd) or OSError (fd not open); nothing is armed then.
        """
        return SocketIO(self, "read", sock, cb, *args)

    def write(self, sock: FileLike, cb: Callable[..., Any], *args: Any) -> SocketIO:
        """As :meth:`read`, for writability."""
        return SocketIO(self, "write", sock, cb, *args)

    def error(self, sock: FileLike, cb: Callable[..., Any], *args: Any) -> SocketIO:
        """As :meth:`read`, for error and hang-up conditions."""
        return SocketIO(self, "error", sock, cb, *args)

    def timeout(self, delay: Optional[float], cb: Callable[..., Any], *args: Any) -> Timer:
        """Run ``cb(*args)`` after ``delay`` seconds (see :class:`Timer`)."""
        return Timer(self, delay, cb, *args)

    def signal(self, sig: int, cb: Callable[..., Any], *args: Any) -> Signal:
        """Run ``cb(*args)`` on each delivery of ``sig`` (see :class:`Signal`)."""
        return Signal(self, sig, cb, *args)

    def event(self, callback: Callable[..., Any], arg: Any = None, evtype: int = 0,
              handle: Any = None) -> Event:
        """pyevent's event object, unarmed until its ``add()``."""
        return Event(self, callback, arg, evtype, handle)

    # -- I/O tables -------------------------------------------------------------------
    def _arm_io(self, w: SocketIO) -> None:
        if w.fd not in self._kmask:
            check_open(w.fd)  # in the caller's thread, so the error reaches the caller
        self._arm_io_here(w)

    @_loop_thread_only
    def _arm_io_here(self, w: SocketIO) -> None:
        fd = w.fd
        slot = self._io.get(fd)
        if slot is not None and slot[w.kind] is not None and slot[w.kind] is not w:
            # A new watcher replaces one of its kind, so the poller would not be
            # told. But the fd may have been closed and its number reused: epoll
            # and kqueue forget a closed file without a word, and would then never
            # report the new one. Register the fd afresh (rare: two calls).
            self._unregister_quietly(fd)
        try:
            self._put_io(w)
        except OSError as exc:
            if fd not in self._kmask:
                if fd in self._io:  # the watchers left on a number that fails now are stale
                    self._drop_fd(fd, exc)
                raise
            # The poller refused an fd we had registered: its number was closed
            # and (maybe) reused by a new file. The old watchers are stale.
            self._drop_fd(fd, exc)
            self._put_io(w)

    def _put_io(self, w: SocketIO) -> None:
        """Arm ``w`` in the tables and the poller, or raise and change nothing."""
        fd = w.fd
        slot = self._io.get(fd)
        if slot is None:
            slot = self._io[fd] = [None, None, None]
        old = slot[w.kind]
        if old is w and w.active:
            return
        if old is not None and old is not w:  # one watcher per kind and fd: the newest wins (as rel)
            self._set_active(old, False)
        slot[w.kind] = w
        self._set_active(w, True)
        try:
            self._sync_fd(fd, slot)
        except OSError:
            self._set_active(w, False)
            slot[w.kind] = old
            if old is not None and old is not w:
                self._set_active(old, True)
            if slot == [None, None, None]:
                del self._io[fd]
            raise

    def _set_active(self, w: SocketIO, active: bool) -> None:
        if w.active != active:
            w.active = active
            if not w.internal:
                self._io_count += 1 if active else -1

    @_loop_thread_only
    def _disarm_io(self, w: SocketIO) -> None:
        if not w.active:
            return
        self._set_active(w, False)
        fd = w.fd
        slot = self._io.get(fd)
        if slot is None or slot[w.kind] is not w:
            return
        slot[w.kind] = None
        try:
            self._sync_fd(fd, slot)
        except OSError as exc:
            self._drop_fd(fd, exc)

    def _sync_fd(self, fd: int, slot: List[Optional[SocketIO]]) -> None:
        """Bring the poller's interest in ``fd`` in line with its watchers."""
        reader, writer, errwatch = slot
        old = self._kmask.get(fd)
        if reader is None and writer is None and errwatch is None:
            del self._io[fd]
            if old is not None:
                del self._kmask[fd]
                try:
                    self._poller_unregister(fd)
                except (OSError, KeyError, ValueError):
                    pass  # closed while registered: the kernel forgot it already
            return
        mask = ((self._WANT_READ if reader is not None else 0)
                | (self._WANT_WRITE if writer is not None else 0)
                | (self._WANT_ERROR if errwatch is not None else 0))
        if old is None:
            self._poller_register(fd, mask)
            self._kmask[fd] = mask
        elif old != mask:
            self._poller_modify(fd, mask)
            self._kmask[fd] = mask

    def _unregister_quietly(self, fd: int) -> None:
        if self._kmask.pop(fd, None) is not None:
            try:
                self._poller_unregister(fd)
            except (OSError, KeyError, ValueError):
                pass  # closed while registered: the kernel forgot it already

    def _drop_fd(self, fd: int, reason: Any) -> None:
        """Forget ``fd`` (closed while registered): its watchers are disarmed."""
        slot = self._io.pop(fd, None)
        self._unregister_quietly(fd)
        for w in slot or ():
            if w is not None and w.active:
                self._set_active(w, False)
                logger.warning("rel: dropped %r: fd %d was closed while registered (%s)",
                               w, fd, reason)

    # -- timers -----------------------------------------------------------------------
    def _arm_timer(self, t: Timer, delay: float) -> None:
        self._arm_timer_at(t, time.monotonic() + delay)  # measured from the caller's call

    @_loop_thread_only
    def _arm_timer_at(self, t: Timer, deadline: float) -> None:
        self._timers.push(t, deadline)

    @_loop_thread_only
    def _disarm_timer(self, t: Timer) -> None:
        self._timers.cancel(t)

    # -- signals ----------------------------------------------------------------------
    # Signal handlers live in the process, not in the loop: they are installed in
    # the calling thread (which must be the main one) under the lock, not queued.
    def _arm_signal(self, w: Signal) -> None:
        if self._moved_to is not None:
            return self._forward("_arm_signal", (w,))
        with self._lock:
            if w.active:
                return None
            if threading.current_thread() is not threading.main_thread():
                logger.info("rel: signal(%d) not armed: signal handlers can only be set "
                            "from the main thread, and this is %s",
                            w.sig, threading.current_thread().name)
                return None
            watchers = self._signals.get(w.sig)
            if watchers is None:
                old = _signal.getsignal(w.sig)
                self._waker.catch_signals()  # first, so a signal is never missed
                try:
                    _signal.signal(w.sig, self._on_signal)  # raises for SIGKILL & co
                except BaseException:
                    if not self._signals:  # roll back: the wake-up fd was ours for this one
                        self._waker.release_signals()
                    raise
                try:
                    _signal.siginterrupt(w.sig, False)
                except (AttributeError, OSError, ValueError):  # pragma: no cover
                    pass
                self._old_handlers[w.sig] = old
                watchers = self._signals[w.sig] = []
            watchers.append(w)
            w.active = True
            return None

    def _disarm_signal(self, w: Signal) -> None:
        if self._moved_to is not None:
            return self._forward("_disarm_signal", (w,))
        with self._lock:
            watchers = self._signals.get(w.sig)
            if not w.active or watchers is None or w not in watchers:
                w.active = False
                return None
            w.active = False
            watchers.remove(w)
            if not watchers:
                self._restore_signal(w.sig)
            return None

    def _reset_signal(self, sig: int) -> None:
        if self._moved_to is not None:
            return self._forward("_reset_signal", (sig,))
        with self._lock:
            for w in self._signals.get(sig, ()):
                w.active = False
            if sig in self._signals:
                self._restore_signal(sig)
            return None

    def _restore_signal(self, sig: int) -> None:
        del self._signals[sig]
        old = self._old_handlers.pop(sig, _signal.SIG_DFL)
        if threading.current_thread() is threading.main_thread():
            _signal.signal(sig, old if old is not None else _signal.SIG_DFL)
            if not self._signals:
                self._waker.release_signals()
        else:
            logger.info("rel: signal %d keeps rel's handler: handlers can only be "
                        "restored from the main thread", sig)

    def _on_signal(self, signum: int, frame: Any) -> None:
        # Runs in the main thread between two bytecodes, maybe while another
        # thread runs the loop: record, and make sure the loop looks.
        self._sigq.append(signum)
        self._waker.wake()

    # -- cross-thread calls -------------------------------------------------------------
    def _on_wake(self) -> bool:
        self._waker.drain()
        self._run_calls()
        return True

    def _run_calls(self) -> None:
        calls = self._calls
        while calls:
            method, args = calls.popleft()
            try:
                method(self, *args)
            except Exception as exc:  # e.g. an fd closed between the call and now
                # The calling thread has moved on: log, and keep the loop (and
                # the other queued calls) going.
                logger.warning("rel: %s%r from another thread failed: %r",
                               method.__name__, args, exc)

    def _forward(self, name: str, args: Tuple[Any, ...]) -> Any:
        """This registrar was replaced by ``initialize()``: act on the new one."""
        new = self._moved_to
        if args and getattr(args[0], "registrar", None) is self:
            args[0].registrar = new
        return getattr(new, name)(*args)

    # -- the loop -----------------------------------------------------------------------
    def _claim(self) -> None:
        me = _get_ident()
        with self._lock:
            if self._owner == me:
                raise RuntimeError("rel: the loop cannot be run from inside one of its callbacks")
            if self._owner is not None:
                raise RuntimeError("rel: the loop is already running in another thread")
            self._owner = me

    def _release(self) -> None:
        with self._lock:
            self._run_calls()  # queued while we were leaving: apply them now
            self._owner = None

    def has_work(self) -> bool:
        """Whether anything is registered: an I/O watcher, an armed timer, a
        signal watcher, or a call queued from another thread."""
        return bool(self._io_count or self._timers.live or self._signals or self._calls or self._sigq)

    def dispatch(self) -> None:
        """Run the loop until :meth:`abort`, :meth:`pause` or until nothing is
        registered. Does nothing if the loop is already running (in any thread).
        A callback's exception propagates; the loop can be dispatched again."""
        if self._moved_to is not None:
            return self._moved_to.dispatch()
        try:
            self._claim()
        except RuntimeError:
            return None
        self._running = True
        try:
            if self.has_work():
                self._run(True, True)
        finally:
            self._running = False
            self._release()
        return None

    def loop(self, nonblock: bool = False) -> None:
        """Run one iteration: wait for the first thing ready (not at all with
        ``nonblock``, nor when nothing is registered), run what is ready and the
        timers due, return. RuntimeError from inside a callback or while the
        loop runs in another thread."""
        if self._moved_to is not None:
            return self._moved_to.loop(nonblock)
        self._claim()
        try:
            self._run(not nonblock and self.has_work(), False)
        finally:
            self._release()
        return None

    def _run(self, block: bool, repeat: bool) -> None:
        """One pass of the loop; with ``repeat``, passes for as long as
        dispatch() should go on. One function, and its names bound once, because
        this is the hottest code rel has: a pass costs no Python call of its own."""
        timers, io, signals = self._timers, self._io, self._signals
        calls, sigq = self._calls, self._sigq
        want_r, want_w, want_e = self._ready_bits
        want_w_or_e = want_w | want_e
        run_io, wait, monotonic = self._run_io, self._poller_wait, time.monotonic
        keyed, max_wait, read, write, error = self._REPORTS_KEYS, MAX_WAIT, READ, WRITE, ERROR
        probe = self._poller_probe
        while True:
            if not block or calls or sigq:
                timeout: Optional[float] = 0.0
            elif timers.live:
                # The heap's top is the next deadline (it is never a cancelled
                # entry), peeked at rather than asked for.
                timeout = timers._heap[0][0] - monotonic()
                if timeout <= 0.0:
                    timeout = 0.0
                elif timeout > max_wait:
                    timeout = max_wait
            else:
                timeout = None
            ready = wait(timeout)
            self.tick += 1
            if logs.verbose:
                self.log("tick", self.tick, "ready", ready)
            if calls:
                # Changes queued by other threads apply before any callback of
                # this pass, whatever order the poller lists the waker in: a
                # watcher deleted from another thread must not fire once more.
                self._run_calls()
            # The only place callbacks are called (invariants 2-4 of the module docstring).
            for fd, bits in ready:
                if keyed:
                    fd = fd.fd
                slot = io.get(fd)
                if slot is None:
                    continue
                if bits & want_r:
                    w = slot[read]
                    if w is not None and w.active:
                        # _run_io(w), inlined: reading is what a loop mostly does.
                        gen = w._gen
                        try:
                            keep = w.cb(*w.args)  # type: ignore[misc]
                        except BaseException as exc:
                            if not self._io_failed(w, gen, exc):
                                raise
                        else:
                            if not keep and w._gen == gen and not w.persist and w.active:
                                self._disarm_io(w)
                    elif probe is not None and slot[error] is not None:
                        bits = (bits & ~want_r) | probe(fd)
                if bits & want_w_or_e:
                    if bits & want_w:
                        w = slot[write]
                        if w is not None and w.active:
                            run_io(w)
                    if bits & want_e:
                        w = slot[error]
                        if w is not None and w.active:
                            run_io(w)
            if timers.live:
                now = monotonic()
                if timers._heap[0][0] <= now:
                    self._run_timers(now)
            if sigq:
                self._run_signals()
            # has_work(), inlined.
            if not (repeat and self._running
                    and (self._io_count or timers.live or signals or calls or sigq)):
                return

    def _run_timers(self, now: float) -> None:
        """Run the timers due at ``now``, armed before this pass, in deadline order."""
        timers = self._timers
        mark = timers.mark()
        timer = timers.pop_due(now, mark)
        while timer is not None:
            self._run_timer(timer)
            # Usually nothing else is due: say so without a call.
            timer = timers.pop_due(now, mark) if timers.live and timers._heap[0][0] <= now else None

    def _run_io(self, w: SocketIO) -> None:
        # _run() holds a copy of this for read watchers (a call saved per read):
        # a change here belongs there too.
        gen = w._gen
        try:
            keep = w.cb(*w.args)  # type: ignore[misc]
        except BaseException as exc:
            if not self._io_failed(w, gen, exc):
                raise
            return
        if not keep and w._gen == gen and not w.persist and w.active:
            self._disarm_io(w)

    def _io_failed(self, w: SocketIO, gen: int, exc: BaseException) -> bool:
        """``w``'s callback raised ``exc``. AbortBranch ends just that callback
        (True: swallow it); anything else disarms ``w``, as a falsy return
        would, and is for the caller to re-raise (False)."""
        if isinstance(exc, AbortBranch):
            self.log("AbortBranch")
            return True
        if w._gen == gen and w.active:
            self._disarm_io(w)
        return False

    def _run_timer(self, t: Timer) -> None:
        gen = t._gen
        try:
            keep = t.cb(*t.args)  # type: ignore[misc]
        except AbortBranch:
            self.log("AbortBranch")
            return
        if keep and t._gen == gen:
            self._timers.push(t, time.monotonic() + t.delay)  # type: ignore[operator]

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

    # -- control --------------------------------------------------------------------------
    def pause(self) -> None:
        """Make :meth:`dispatch` return after the current iteration, deleting nothing."""
        self._running = False
        if self._owner is not None and self._owner != _get_ident():
            self._waker.wake()

    def is_running(self) -> bool:
        """Whether :meth:`dispatch` is running."""
        return self._running

    @_loop_thread_only
    def abort(self) -> None:
        """Stop :meth:`dispatch` and delete every read/write/error watcher;
        timers and signals stay."""
        self.log("abort")
        self._running = False
        for slot in list(self._io.values()):
            for w in slot:
                if w is not None and not w.internal:
                    self._disarm_io(w)

    def abort_branch(self) -> None:
        """Raise :class:`AbortBranch`: call it from inside a callback."""
        self.log("abort_branch")
        raise AbortBranch()

    @_loop_thread_only
    def init(self) -> None:
        """Forget every watcher (each reports not pending), restore signal
        handlers, stop :meth:`dispatch`."""
        self._running = False
        self.abort()
        self._timers.clear()
        for sig in list(self._signals):
            self._reset_signal(sig)
        self._sigq.clear()

    def report(self) -> Dict[str, int]:
        """Counts of what is registered: timers, signals, reads, writes, errors."""
        counts = [0, 0, 0]
        for slot in list(self._io.values()):
            for kind, w in enumerate(slot):
                if w is not None and not w.internal:
                    counts[kind] += 1
        return {
            "timers": self._timers.live,
            "signals": sum(len(ws) for ws in self._signals.values()),
            "reads": counts[READ],
            "writes": counts[WRITE],
            "errors": counts[ERROR],
        }

    # -- switching registrars --------------------------------------------------------------
    def adopt(self, old: Registrar) -> None:
        """Take over every armed watcher of ``old`` (``initialize()`` switching
        registrar), then close ``old``; watchers still pointing at it follow."""
        if old._owner is not None:
            raise RuntimeError("rel: cannot switch registrar while its loop is running")
        with old._lock:
            ios = [w for slot in old._io.values() for w in slot
                   if w is not None and w.active and not w.internal]
            timers = [(d, t) for d, s, t in old._timers._heap if t._seq == s]
            signals = [s for ss in old._signals.values() for s in ss]
            for sw in signals:
                old._disarm_signal(sw)
            old._moved_to = self
            for w in ios:
                w.registrar = self
                w.active = False  # armed (and counted) afresh here
                try:
                    self._arm_io_here(w)
                except OSError as exc:  # its fd was closed meanwhile
                    logger.warning("rel: dropped %r while switching registrar: %s", w, exc)
            for deadline, t in sorted(timers, key=lambda e: (e[0], e[1]._seq)):
                t.registrar = self
                t._seq = None  # its entry belongs to the old heap
                self._timers.push(t, deadline)
            for sw in signals:
                sw.registrar = self
                self._arm_signal(sw)
            self._sigq.extend(old._sigq)  # delivered, not handled yet: not lost
            old._sigq.clear()
            self._calls.extend(old._calls)
            old._calls.clear()
            old._close_poller()

    def close(self) -> None:
        """Restore signal handlers and release the poller and the waker.
        RuntimeError while the loop runs in another thread."""
        if self._owner is not None and self._owner != _get_ident():
            raise RuntimeError("rel: cannot close a registrar whose loop runs in another thread")
        self.init()
        self._close_poller()

    def _close_poller(self) -> None:
        self._io.clear()
        self._kmask.clear()
        self._waker.close()
        self._poller_close()
