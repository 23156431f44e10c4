"""The engine: :class:`Registrar` owns everything but the poller's system call.

It holds the loop (``_run``) and the one place where I/O callbacks are called
(``_run_io``). The rest is one module per concern, each a base class of
:class:`Registrar`: the fd tables (``iotable.py``), the timers
(``timertable.py``, over ``timerheap.py``), the signal watchers
(``signaltable.py``, over ``signals.py``'s delivery: handlers, the wake-up
fd, restore rules), TLS readers carried to the next pass (``tlscarry.py``),
switching and closing (``switching.py``), and the loop's thread with the
calls queued for it from other threads (``calls.py``: ``loop_thread_only``,
folding, the bound, draining). A subclass supplies only the waiting
strategy, the poller primitive (see "The poller primitive" below), so each OS
poller is one small module. Watchers see the registrar through
``listener.WatcherHost``; add-ons (diagnostics) attach through
:data:`BUILD_HOOKS`, without the engine importing them.

How one iteration runs (``_run``), and the invariants it keeps:

1. Wait in the poller for exactly as long as the next timer allows: forever when
   there is none, 0 when a call is queued or a TLS reader is carried (5.).
   Never sleep, never wake up for nothing: an idle loop costs no CPU.
2. Run the callbacks of the fds reported ready, then the timers due, then the
   signals delivered. A watcher deleted by an earlier callback of the same pass
   does not run: each one is looked up when its turn comes. Every I/O
   callback is called by ``_run_io``, whichever loop waits: the one place
   that applies the return-value rules and the TLS rule.
3. Callbacks run only here, in the thread that runs the loop, never inside
   another callback. A call from any other thread that changes the tables is
   queued for the loop thread and the loop woken through the waker.
4. A callback's exception leaves the loop through ``loop()``/``dispatch()``; its
   watcher counts as having returned falsy, and the loop can be run again.
5. What the kernel cannot see is the engine's to see: an ``ssl.SSLSocket``
   holds bytes it has decrypted (a TLS record carries many messages; reading
   part of it decrypts it all), and no poller reports its fd again until the
   peer speaks. A read watcher on one whose callback leaves bytes
   ``pending()`` is carried: the next pass lists it as ready, without a
   wait, after the fds the poller reported (``_carry_tls``,
   ``_with_carried``). Plain sockets pay one attribute test per callback.

The poller primitive (what a subclass provides, all called in one thread at a
time, from the loop thread while it runs):

* ``_poller_open()`` / ``_poller_close()``;
* ``_poller_register(fd, mask)``, ``_poller_modify(fd, mask)``,
  ``_poller_unregister(fd)``, where ``mask`` is an OR of the class attributes
  ``_WANT_READ``, ``_WANT_WRITE`` and ``_WANT_ERROR`` (bits no two of which
  share: 0 for a kind the poller needs no asking for); register and modify raise
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

import time
from typing import Any, Callable, Dict, List, Optional

from . import logs
from .calls import LoopThread, loop_thread_only
from .errors import AbortBranch
from .listener import ERROR, READ, WRITE, Event, FileLike, Signal, SocketIO, Timer
from .iotable import IOTable
from .signals import SignalDelivery
from .signaltable import SignalTable
from .switching import Switching
from .timerheap import TimerHeap
from .timertable import TimerTable
from .tlscarry import TLSCarry
from .wakeup import Waker

# The longest single wait: far-future timers still get a fresh look once a day
# (asyncio's MAXIMUM_SELECT_TIMEOUT), and no poller is asked for more than it takes.
MAX_WAIT = 24 * 3600.0
# With no timer armed, a poller that forgets a closed fd without a word (epoll,
# kqueue: ``_FORGETS_CLOSED``) waits this long rather than forever, and after
# such a silent wait the engine looks for watchers whose fd was closed while
# registered (``_audit_fds``): otherwise dispatch() would wait for them for
# ever. A busy loop never pays for it; an idle one wakes once per IDLE_AUDIT.
IDLE_AUDIT = 10.0

_loop_thread_only = loop_thread_only  # its name before calls.py

#: Called with every new registrar, once it is complete: how add-ons attach
#: to the engine without the engine importing them (diagnostics, debug.py,
#: add theirs when imported). Add with ``BUILD_HOOKS.append(fn)``.
BUILD_HOOKS: List[Callable[[Registrar], None]] = []
#: The registrar of the process-wide facade, for add-ons that default to it:
#: ``facade_registrar(build)`` returns it (made first with ``build``), or None.
#: Set by the facade (rel.py), the top floor, so that nothing below imports it.
facade_registrar: Optional[Callable[[bool], Optional[Registrar]]] = None

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




class Registrar(IOTable, TimerTable, SignalTable, TLSCarry, Switching):
    """A complete event loop, minus the poller (see the module docstring).

    Public methods are safe to call from any thread. ``read``, ``write``,
    ``error``, ``timeout``, ``signal`` and ``event`` return armed watchers
    (``event``: unarmed, as pyevent).
    """

    #: the name this registrar is known by in ``initialize()``
    name = "?"
    _READY_READ = 1
    _READY_WRITE = 2
    _READY_ERROR = 4
    _REPORTS_KEYS = False
    #: the poller forgets an fd closed while registered, reporting nothing
    #: (epoll, kqueue): the loop audits its fds when idle (see IDLE_AUDIT)
    _FORGETS_CLOSED = True
    _poller_probe: Optional[Callable[[int], int]] = None

    def __init__(self) -> None:
        LoopThread.__init__(self)  # _owner, _running, _calls, _lock, _moved_to
        self._io: Dict[int, List[Optional[SocketIO]]] = {}  # {fd: [reader, writer, error watcher]}
        self._kmask: Dict[int, int] = {}  # {fd: interest mask given to the poller}
        self._io_count = 0  # armed user I/O watchers
        # TLS readers whose socket holds decrypted bytes no poller reports:
        # run again in the next pass without a wait (see _run_io). {watcher: None}
        self._carry: Dict[SocketIO, None] = {}
        self._timers = TimerHeap()
        self.tick = 0
        self._want_bits = wants = (self._WANT_READ, self._WANT_WRITE, self._WANT_ERROR)
        if wants[0] & wants[1] or wants[0] & wants[2] or wants[1] & wants[2]:
            # The tables add and take away one kind's bit without looking at the others'.
            raise TypeError("%s: _WANT_READ, _WANT_WRITE and _WANT_ERROR share bits: %r"
                            % (type(self).__name__, wants))
        self._poller_open()
        self._ready_bits = (self._READY_READ, self._READY_WRITE, self._READY_ERROR)
        self._open_waker()
        self._chan_watch: Optional[SocketIO] = None  # on rel's signal wake-up channel
        self._sigs = SignalDelivery(self._waker.wake, self._watch_channel)
        # The loop reads these two at every pass: the delivery's own dict and
        # deque (never replaced), bound here.
        self._signals = self._sigs.watchers  # {signum: [Signal]}
        self._sigq = self._sigs.queue  # signals delivered, not yet handled
        for hook in BUILD_HOOKS:
            hook(self)

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










    def _watch_channel(self, channel: Optional[Waker]) -> None:
        """SignalDelivery's request: watch rel's signal wake-up channel
        (drained when readable), or stop (None)."""
        w = self._chan_watch
        if channel is None:
            if w is not None:
                self._chan_watch = None
                w.delete()
        elif w is None:
            w = self._chan_watch = SocketIO(self, "read", channel, channel.drain, arm=False)
            w.persistent()
            w.internal = True
            w.add()

    # -- cross-thread calls (see calls.py) ---------------------------------------------
    def _on_wake(self) -> bool:
        self._waker.drain()
        self._run_calls()
        return True

    # -- the loop -----------------------------------------------------------------------
    def has_work(self) -> bool:
        """Whether anything is registered: an I/O watcher, an armed timer, a
        signal watcher, or a call queued from another thread."""
        return bool(self._io_count or self._timers.live or self._signals or self._calls or self._sigq)

    def dispatch(self) -> None:
        """Run the loop until :meth:`abort`, :meth:`pause` or until nothing is
        registered. Does nothing if the loop is already running (in any thread).
        A callback's exception propagates; the loop can be dispatched again."""
        try:
            successor = self._claim(True)
        except RuntimeError:
            return None
        if successor is not None:
            return successor.dispatch()  # type: ignore[no-any-return]
        try:
            if self.has_work():
                self._dispatching()
        finally:
            try:
                self._running = False
            finally:
                self._release()
        return None

    def _dispatching(self) -> None:
        """What dispatch() runs once it holds the loop: the passes (the
        asyncio registrar runs asyncio's loop instead)."""
        self._run(True, True)

    def loop(self, nonblock: bool = False) -> None:
        """Run one iteration: wait for the first thing ready (not at all with
        ``nonblock``, nor when nothing is registered), run what is ready and the
        timers due, return. RuntimeError from inside a callback or while the
        loop runs in another thread."""
        successor = self._claim(False)
        if successor is not None:
            return successor.loop(nonblock)  # type: ignore[no-any-return]
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
        calls, sigq, carry = self._calls, self._sigq, self._carry
        want_r, want_w, want_e = self._ready_bits
        run_io, wait, monotonic = self._run_io, self._poller_wait, time.monotonic
        keyed, max_wait, read, write, error = self._REPORTS_KEYS, MAX_WAIT, READ, WRITE, ERROR
        probe = self._poller_probe
        idle = IDLE_AUDIT if self._FORGETS_CLOSED else None
        while True:
            if not block or calls or sigq or carry:
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
                timeout = idle
            ready = wait(timeout)
            if carry:
                ready = self._with_carried(ready)
            elif not ready and timeout is idle:
                self._audit_fds()  # a silent wait with no timer: anything closed under us?
            self.tick += 1
            if logs.verbose:
                self.log("tick", self.tick, "ready", ready)
            if calls:
                # Changes queued by other threads apply before any callback of
                # this pass, whatever order the poller lists the waker in: a
                # watcher deleted from another thread must not fire once more.
                self._run_calls()
            # What is ready, in the poller's order; each watcher looked up
            # when its turn comes (invariant 2), run by _run_io.
            for fd, bits in ready:
                if keyed:
                    fd = fd.fd
                slot = io.get(fd)
                if slot is None:
                    continue
                if bits & want_r:
                    w = slot[read]
                    if w is not None and w.active:
                        run_io(w)
                    elif probe is not None and slot[error] is not None:
                        bits = (bits & ~want_r) | probe(fd)
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


    def _run_io(self, w: SocketIO) -> None:
        """Call I/O watcher ``w``'s callback: the one place rel does, whichever
        loop waits (the passes of ``_run``, the asyncio registrar's handlers,
        ``add(delay)``'s timer). A falsy return disarms ``w`` unless the
        callback took control (its own ``add()``/``delete()``) or ``w`` is
        persistent; an exception disarms it too and propagates (AbortBranch
        excepted). A TLS reader left with decrypted bytes pending runs again
        in the next pass (``_carry_tls``)."""
        gen = w._gen
        try:
            keep = w.cb(*w.args)  # type: ignore[misc]
        except BaseException as exc:
            if not self._io_failed(w, gen, exc):
                raise
        else:
            if not keep and w._gen == gen and not w.persist and w.active:
                self._disarm_io(w)
                return
        if w._tls:
            self._carry_tls(w)




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



    # -- control --------------------------------------------------------------------------
    @loop_thread_only
    def abort(self) -> None:
        """Stop :meth:`dispatch` and delete every read/write/error watcher;
        timers and signals stay."""
        self.log("abort")
        self._running = False
        self._carry.clear()
        for slot in list(self._io.values()):
            for w in slot:
                if w is not None and not w.internal:
                    self._disarm_io(w)

    def abort_branch(self) -> None:
        """Raise :class:`AbortBranch`: call it from inside a callback."""
        self.log("abort_branch")
        raise AbortBranch()

    @loop_thread_only
    def init(self) -> None:
        """Forget every watcher (each reports not pending), restore signal
        handlers, stop :meth:`dispatch`."""
        self._running = False
        self.abort()
        self._timers.clear()
        self._sigs.reset_all()

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





