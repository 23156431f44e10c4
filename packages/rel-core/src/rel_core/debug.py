"""Diagnostics: debug mode (``'debug'``, ``REL_DEBUG``) and the loop's own figures.

Debug mode says, on the ``rel`` logger at WARNING:

* which callback ran longer than the threshold (default 100 ms): its qualified
  name and ``file:line``, its watcher (fd and kind, timer delay, signal) and
  how long it took;
* when a pass runs its due timers later than their deadline by more than the
  threshold: the lag, and the callback that held the loop meanwhile;
* where a watcher dropped because its fd was closed while registered had been
  registered (the registration stack, kept only in debug mode);
* a busy loop: the loop has not blocked for a second and one watcher runs on
  nearly every pass doing nothing (a 0-second timer re-arming itself, an fd
  always ready whose callback leaves its bytes unread): once per culprit.

Measuring alone (the ``'report'`` option) adds the loop's figures to
``report()`` and warns about nothing.

Zero cost when off. Nothing in the loop tests whether debug is on, and this
module is not imported unless ``REL_DEBUG`` is set or something asks for it
(the facade imports it then). The engine does not import it either: once
imported, it adds :func:`on_build` to the engine's ``BUILD_HOOKS``.
Turning it on *substitutes* instrumented pieces on one registrar instance,
and turning it off puts the originals back:

* each watcher's callback is wrapped in a timing closure when it is armed
  (``_arm_io_here``, ``_arm_signal``, and the timer heap's ``push``, whose
  class is swapped for a subclass that also learns each deadline; and
  ``_direct_io`` is made false, which closes the engine's direct arming
  path, so that every arm passes ``_arm_io_here``). The loop
  calls the closure where it calls any callback, so what is measured is the
  one place callbacks are called, whatever drives the pass;
* the wait primitive ``_poller_wait`` is wrapped, to count passes, time the
  waiting and notice a loop that never blocks;
* ``_run_timers`` (lag), ``_forget``, where every dropped watcher passes (registration stacks) and ``report``.

``_run`` binds ``_poller_wait`` once per call: debug turned on from inside a
running loop times the waiting from the next ``dispatch()``/``loop()``; every
other measurement starts at once.

What a registrar must keep for this to work, whatever drives its passes (a
poller, or asyncio's loop): call callbacks as ``w.cb(*w.args)``, arm timers
through ``self._timers.push``, I/O through ``_arm_io_here`` and signals
through ``_arm_signal``, count passes in ``tick``, and wait in
``_poller_wait``. A registrar that waits elsewhere gets every message and
figure but ``wait_seconds`` and the busy-loop watch.
"""

from __future__ import annotations

import collections
import functools
import os
import signal as _signal
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, Optional, Tuple

from . import registrar as _engine
from .listener import Event, Signal, SocketIO, Timer
from .logs import logger

if TYPE_CHECKING:  # pragma: no cover
    from .registrar import Registrar

try:
    import fcntl
    import termios

    _FIONREAD: Optional[int] = termios.FIONREAD
    _OUTQ: Optional[int] = getattr(termios, "TIOCOUTQ", None)  # == SIOCOUTQ on Linux
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    _FIONREAD = _OUTQ = None

#: slow-callback and lag threshold, in seconds, when none is given
DEFAULT_THRESHOLD = 0.1
#: a loop that has not blocked for this long is looked at for a busy culprit
BUSY_AFTER = 1.0
# A timer of a shorter delay that runs on every pass is a busy culprit (the
# loop waits 0 s for it).
BUSY_TIMER = 0.001
# A culprit runs on at least this share of the passes looked at.
BUSY_SHARE = 0.9
# Callbacks remembered (debug mode) for the lag and busy-loop culprits.
RECENT = 512
# Timer lateness samples kept per report interval.
LATENESS_SAMPLES = 10000
# Names kept in report()'s "slowest".
SLOWEST = 5
# Frames of a registration stack kept (innermost, rel-core's own left out).
STACK_FRAMES = 12

_clock = time.perf_counter
_monotonic = time.monotonic
_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep

# What initialize() asked for, applied to every registrar built afterwards:
# the debug threshold (None: debug off) and whether to measure.
_requested_threshold: Optional[float] = None
_requested_measure = False


# -- turning it on and off ------------------------------------------------------------
def parse_env(value: Optional[str]) -> Optional[float]:
    """The threshold ``REL_DEBUG=value`` asks for, or None (off).

    ``""`` and ``"0"``: off. ``"1"`` (or true/yes/on): on, at
    :data:`DEFAULT_THRESHOLD`. Any other positive number: on, with that
    threshold in seconds (``REL_DEBUG=0.05``; ``1.0`` means one second).
    Anything else: on at the default, with a warning.
    """
    text = (value or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return None
    if text in ("1", "true", "yes", "on"):
        return DEFAULT_THRESHOLD
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0.0 or seconds == float("inf"):
        logger.warning("rel: REL_DEBUG=%r is not a number of seconds; debug mode on with "
                       "the default threshold (%g s)", value, DEFAULT_THRESHOLD)
        return DEFAULT_THRESHOLD
    return seconds


def on_build(reg: Registrar) -> None:
    """Called by every new registrar: apply ``REL_DEBUG`` (read now, so an
    unchanged program can be diagnosed) and what ``initialize()`` asked for."""
    threshold = parse_env(os.environ.get("REL_DEBUG"))
    if threshold is None:
        threshold = _requested_threshold
    if threshold is not None:
        attach(reg, threshold, warn=True)
    elif _requested_measure:
        attach(reg, DEFAULT_THRESHOLD, warn=False)


def request(debug: bool = False, measure: bool = False, threshold: Optional[float] = None) -> None:
    """Ask for debug mode (and measuring) on every registrar built from now on
    (the facade's ``initialize()`` options ``'debug'`` and ``'report'``)."""
    global _requested_threshold, _requested_measure
    if debug:
        env = parse_env(os.environ.get("REL_DEBUG"))
        _requested_threshold = threshold or env or _requested_threshold or DEFAULT_THRESHOLD
    if measure:
        _requested_measure = True


def apply(reg: Registrar) -> None:
    """Bring ``reg`` in line with what was requested (idempotent)."""
    if _requested_threshold is not None:
        attach(reg, _requested_threshold, warn=True)
    elif _requested_measure:
        attach(reg, DEFAULT_THRESHOLD, warn=False)


def enable(threshold: Optional[float] = None, registrar: Optional[Registrar] = None) -> Diagnostics:
    """Turn debug mode on, with ``threshold`` seconds (default: ``REL_DEBUG``'s,
    else 0.1), for ``registrar`` (default: the facade's, built if need be) and
    every registrar built from now on. Returns its :class:`Diagnostics`.

    ValueError for a threshold that is not a positive number.
    """
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
            raise ValueError("threshold must be a positive number of seconds, not %r" % (threshold,))
        threshold = float(threshold)
    request(debug=True, threshold=threshold)
    if registrar is None:
        registrar = _facade_registrar(build=True)
    assert _requested_threshold is not None
    return attach(registrar, _requested_threshold, warn=True)


def disable(registrar: Optional[Registrar] = None) -> None:
    """Turn debug mode and measuring off: for ``registrar`` (default: the
    facade's), and for registrars built from now on (``REL_DEBUG`` aside).
    Armed watchers get their own callbacks back; a watcher not armed now keeps
    a pass-through wrapper until the registrar is closed."""
    global _requested_threshold, _requested_measure
    _requested_threshold = None
    _requested_measure = False
    if registrar is None:
        registrar = _facade_registrar(build=False)
    diag = diagnostics(registrar) if registrar is not None else None
    if diag is not None:
        diag.detach()


def _facade_registrar(build: bool) -> Any:
    """The facade's registrar (made first with ``build``), through the hook the
    facade sets on the engine; None without one."""
    provider = _engine.facade_registrar
    return provider(build) if provider is not None else None


def diagnostics(reg: Registrar) -> Optional[Diagnostics]:
    """The :class:`Diagnostics` attached to ``reg``, or None (debug off)."""
    return reg.__dict__.get("_diagnostics")


def attach(reg: Registrar, threshold: float, warn: bool) -> Diagnostics:
    """Instrument ``reg`` (idempotent; ``warn`` upgrades measuring to debug)."""
    diag = diagnostics(reg)
    if diag is None:
        diag = Diagnostics(reg, threshold, warn)
        diag.install()
    elif warn:
        diag.threshold = threshold
        if not diag.warn:
            diag.warn = True
            diag.recent = collections.deque(maxlen=RECENT)
            diag.reinstall_wait()
        diag.limit = threshold
    return diag


# -- naming callbacks and watchers ----------------------------------------------------------
def describe_callback(cb: Any) -> str:
    """``qualified.name (file:line)`` of a callback, through the wrappers rel
    itself puts around one (pyevent events), ``functools.partial`` and
    ``__wrapped__``."""
    target = cb
    for _ in range(10):
        owner = getattr(target, "__self__", None)
        if isinstance(owner, Event) and getattr(target, "__func__", None) is Event._fire:
            target = owner.callback
        elif isinstance(target, functools.partial):
            target = target.func
        elif getattr(target, "__wrapped__", None) is not None:
            target = target.__wrapped__
        else:
            break
    func = getattr(target, "__func__", target)
    code = getattr(func, "__code__", None)
    if code is None and not hasattr(func, "__qualname__"):
        func = type(target).__call__  # a callable object: name its __call__
        code = getattr(func, "__code__", None)
    name = getattr(func, "__qualname__", None) or repr(target)
    module = getattr(func, "__module__", None)
    if module and module not in ("builtins", "__main__") and code is None:
        name = "%s.%s" % (module, name)
    if code is None:
        return "%s (built-in)" % (name,)
    return "%s (%s:%d)" % (name, code.co_filename, code.co_firstlineno)


def describe_watcher(w: Any) -> str:
    """What a watcher watches: ``read watcher on fd 7``, ``timer (delay 1 s)``..."""
    if isinstance(w, SocketIO):
        return "%s watcher on fd %d" % (w.evtype, w.fd)
    if isinstance(w, Timer):
        return "timer (delay %s s)" % ("%g" % w.delay if w.delay is not None else "none")
    if isinstance(w, Signal):
        try:
            return "signal %d (%s)" % (w.sig, _signal.Signals(w.sig).name)
        except ValueError:
            return "signal %d" % (w.sig,)
    return repr(w)


def _registration_stack() -> traceback.StackSummary:
    """The caller's stack, most recent call last, without rel-core's frames."""
    frame: Any = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_HERE):
        frame = frame.f_back
    return traceback.extract_stack(frame, limit=STACK_FRAMES)


# -- per watcher ---------------------------------------------------------------------------------
class _Site:
    """One watcher as debug mode knows it: its own callback, its timing
    closure, and what the messages need."""

    __slots__ = ("watcher", "cb", "timed", "deadline", "longest", "stack", "busy_reported", "_name")

    def __init__(self, watcher: Any, cb: Callable[..., Any]) -> None:
        self.watcher = watcher
        self.cb = cb
        self.timed: Callable[..., Any] = cb
        self.deadline = 0.0  # timers: the monotonic deadline of the pending run
        self.longest = 0.0  # its longest run so far
        self.stack: Optional[traceback.StackSummary] = None
        self.busy_reported = False
        self._name: Optional[str] = None

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = describe_callback(self.cb)
        return self._name

    def where(self) -> str:
        return describe_watcher(self.watcher)


def _site_of(w: Any) -> Optional[_Site]:
    site = getattr(w.cb, "rel_site", None)
    return site if isinstance(site, _Site) else None


def _pending_bytes(fd: int, kind: str) -> Optional[int]:
    """Bytes waiting to be read (read, error) or not yet sent (write) on
    ``fd``; None where the platform cannot tell."""
    request = _OUTQ if kind == "write" else _FIONREAD
    if fcntl is None or request is None:
        return None
    try:
        return int.from_bytes(fcntl.ioctl(fd, request, b"\0\0\0\0"), sys.byteorder, signed=True)
    except OSError:
        return None


# -- per registrar ---------------------------------------------------------------------------------
class Diagnostics:
    """Debug mode and measuring on one registrar (see the module docstring).

    Figures (``figures()``, merged into ``report()``): passes and callbacks
    since measuring began, seconds in callbacks and in the wait, the slowest
    callbacks, and timer lateness p50/p99 since the previous ``report()``.
    """

    def __init__(self, reg: Registrar, threshold: float, warn: bool) -> None:
        self.reg = reg
        self.threshold = threshold
        self.warn = warn
        self.started = self.interval_start = _clock()
        self.first_tick = reg.tick
        self.passes = 0  # waits seen (the busy-loop watch counts passes with them)
        self.callbacks = 0
        self.callback_seconds = 0.0
        self.wait_seconds = 0.0
        self.slowest: Dict[str, float] = {}  # {callback name: longest run}, the SLOWEST longest
        self.limit = threshold if warn else float("inf")  # a run longer than this is slow
        self.lateness: Deque[float] = collections.deque(maxlen=LATENESS_SAMPLES)
        # debug mode: the last callbacks, (pass, start, end, site)
        self.recent: Optional[Deque[Tuple[int, float, float, _Site]]] = (
            collections.deque(maxlen=RECENT) if warn else None)
        self.calm = self.started  # when the loop last blocked
        self.calm_pass = 0
        self.next_busy_look = 0.0
        self._saved: Dict[str, Any] = {}  # {attribute: instance value before us, or _MISSING}
        self._orig: Dict[str, Any] = {}  # {attribute: what it did before us, bound}
        self._heap_class: Optional[type] = None

    # -- installing ----------------------------------------------------------------------
    def install(self) -> None:
        reg = self.reg
        reg.__dict__["_diagnostics"] = self
        self._substitute("_arm_io_here", self._arm_io_here)
        self._substitute("_direct_io", False)  # so that every arm passes the one above
        self._substitute("_arm_signal", self._arm_signal)
        self._substitute("_forget", self._forget)
        self._substitute("report", self._report)
        self.reinstall_wait()
        heap = reg._timers
        self._heap_class = type(heap)
        heap.__class__ = _watched_heap(type(heap))
        for slot in list(reg._io.values()):
            for w in slot:
                if w is not None and w.active:
                    self.wrap(w)
        for deadline, seq, t in list(heap._heap):
            if t._seq == seq:
                site = self.wrap(t)
                if site is not None:
                    site.deadline = deadline
        for ws in list(reg._signals.values()):
            for sw in ws:
                self.wrap(sw)
        logger.info("rel: %s on the %s registrar (slow callback threshold %g s)",
                    "debug mode" if self.warn else "measuring", reg.name, self.threshold)

    def reinstall_wait(self) -> None:
        """(Re)place the wait (measuring only, or with the busy-loop watch),
        and in debug mode the timer pass (lag)."""
        real = self._orig.get("_poller_wait") or self.reg._poller_wait
        self._substitute("_poller_wait", _debug_wait(self, real) if self.warn else _measure_wait(self, real))
        if self.warn:
            self._substitute("_run_timers", self._run_timers)

    def _original(self, name: str) -> Any:
        return self._orig[name]

    def _substitute(self, name: str, value: Any) -> None:
        d = self.reg.__dict__
        if name not in self._saved:
            self._saved[name] = d.get(name, _MISSING)
            self._orig[name] = getattr(self.reg, name)
        d[name] = value

    def detach(self) -> None:
        """Put back everything :meth:`install` substituted."""
        reg = self.reg
        d = reg.__dict__
        for name, saved in self._saved.items():
            if saved is _MISSING:
                d.pop(name, None)
            else:
                d[name] = saved
        self._saved.clear()
        self._orig.clear()
        if self._heap_class is not None:
            reg._timers.__class__ = self._heap_class
        for slot in list(reg._io.values()):
            for w in slot:
                if w is not None:
                    self.unwrap(w)
        for _d, _s, t in list(reg._timers._heap):
            self.unwrap(t)
        for ws in list(reg._signals.values()):
            for sw in ws:
                self.unwrap(sw)
        d.pop("_diagnostics", None)

    # -- wrapping callbacks -----------------------------------------------------------------
    def wrap(self, w: Any) -> Optional[_Site]:
        """Give ``w`` a timing closure around its callback (once)."""
        cb = w.cb
        if cb is None or getattr(w, "internal", False):
            return None
        old = getattr(cb, "rel_site", None)
        if isinstance(old, _Site):
            if old.watcher is w and getattr(cb, "rel_diag", None) is self:
                return old
            cb = old.cb  # wrapped for another registrar (switched): wrap afresh
        if getattr(cb, "__func__", None) is SocketIO._on_delay:
            return None  # runs the I/O watcher's own (wrapped) callback
        site = _Site(w, cb)
        if isinstance(old, _Site) and old.watcher is w:
            site.stack, site.deadline = old.stack, old.deadline
        site.timed = _timed_timer(self, site) if isinstance(w, Timer) else _timed(self, site)
        w.cb = site.timed
        return site

    @staticmethod
    def unwrap(w: Any) -> None:
        site = _site_of(w)
        if site is not None:
            w.cb = site.cb

    def _arm_io_here(self, w: SocketIO) -> Any:
        site = self.wrap(w)
        if site is not None and self.warn:
            site.stack = _registration_stack()
        return self._original("_arm_io_here")(w)

    def _arm_signal(self, w: Signal) -> Any:
        self.wrap(w)
        return self._original("_arm_signal")(w)

    # -- what the substitutes do ----------------------------------------------------------------
    def notable(self, site: _Site, seconds: float) -> None:
        """A callback ran ``seconds``: slow (warn), or its longest run yet
        (maybe among the slowest)."""
        if seconds > self.limit:
            logger.warning("rel: slow callback %s, of the %s, took %.3f s (threshold %g s)",
                           site.name, site.where(), seconds, self.threshold)
        if seconds <= site.longest:
            return
        site.longest = seconds
        slowest = self.slowest
        name = site.name
        if name in slowest:
            if seconds > slowest[name]:
                slowest[name] = seconds
        elif len(slowest) < SLOWEST:
            slowest[name] = seconds
        else:
            least = min(slowest, key=slowest.__getitem__)
            if seconds > slowest[least]:
                del slowest[least]
                slowest[name] = seconds

    def _run_timers(self, now: float) -> None:
        heap = self.reg._timers._heap
        if self.warn and heap:
            deadline, _seq, t = heap[0]
            delay = t.delay
            if delay is not None and delay < 0:  # due when armed: its deadline is in the past by design
                deadline -= delay
            lag = now - deadline
            if lag > self.threshold:
                self._lag(lag, deadline)
        self._original("_run_timers")(now)

    def _lag(self, lag: float, deadline: float) -> None:
        since = deadline + (_clock() - _monotonic())  # on the clock callbacks are timed with
        held: Dict[_Site, float] = {}
        count = 0
        for _pass, t0, t1, site in reversed(self.recent or ()):
            if t1 <= since:
                break
            count += 1
            held[site] = held.get(site, 0.0) + t1 - max(t0, since)
        if held:
            site = max(held, key=held.__getitem__)
            blame = "the loop was held by %s, of the %s, for %.3f s of it" % (
                site.name, site.where(), held[site])
            if count > 1:
                blame += " (%d callbacks ran since the deadline)" % (count,)
        else:
            blame = ("no callback ran since the deadline: the loop was not running, or the "
                     "process did not get the CPU")
        logger.warning("rel: loop lag: timers ran %.3f s after their deadline (threshold %g s); %s",
                       lag, self.threshold, blame)

    def _forget(self, fd: int, watchers: Any, reason: Any) -> None:
        victims = [w for w in watchers if w is not None and w.active]
        self._original("_forget")(fd, watchers, reason)
        if not self.warn:
            return
        for w in victims:
            site = _site_of(w)
            if w.active or site is None or site.stack is None:
                continue
            logger.warning("rel: the %s dropped (fd %d closed while registered), callback %s, "
                           "had been registered at (most recent call last):\n%s",
                           site.where(), fd, site.name, "".join(site.stack.format()).rstrip())

    def look_for_busy(self, ready: Any, now: float) -> None:
        """The loop has not blocked for BUSY_AFTER seconds: name a culprit that
        runs on nearly every pass and does nothing, once."""
        self.next_busy_look = now + BUSY_AFTER
        recent = [e for e in self.recent or () if e[0] > self.calm_pass]
        if not recent:
            return
        passes = self.passes - recent[0][0]  # the current pass has run nothing yet
        if passes <= 0:
            return
        runs: Dict[_Site, int] = {}
        last: Dict[_Site, int] = {}
        for n, _t0, _t1, site in recent:
            if last.get(site) != n:
                last[site] = n
                runs[site] = runs.get(site, 0) + 1
        for site in sorted(runs, key=runs.__getitem__, reverse=True):
            if runs[site] < BUSY_SHARE * passes:
                return
            if site.busy_reported:
                continue
            w = site.watcher
            if isinstance(w, Timer):
                if w.delay is not None and w.delay < BUSY_TIMER:
                    self._busy(site, now, runs[site], passes,
                               "a %g-second timer that re-arms itself on every pass" % (w.delay,))
                    return
            elif isinstance(w, SocketIO) and w.cb is site.timed:
                w.cb = _probe(self, site, now, runs[site], passes)
                return

    def _busy(self, site: _Site, now: float, runs: int, passes: int, what: str) -> None:
        site.busy_reported = True
        logger.warning("rel: busy loop: the loop has not blocked for %.1f s (%d passes); "
                       "culprit: %s, of the %s, which ran on %d of the last %d passes: %s",
                       now - self.calm, self.passes - self.calm_pass, site.name, site.where(),
                       runs, passes, what)

    # -- the figures --------------------------------------------------------------------------------
    def figures(self) -> Dict[str, Any]:
        """The loop's own figures (see the class docstring); starts a new
        lateness interval."""
        now = _clock()
        samples = sorted(self.lateness)
        self.lateness.clear()
        interval, self.interval_start = now - self.interval_start, now

        def pct(q: float) -> Optional[float]:
            if not samples:
                return None
            return round(samples[min(len(samples) - 1, int(q * len(samples)))], 6)

        return {
            "passes": self.reg.tick - self.first_tick,
            "callbacks": self.callbacks,
            "callback_seconds": round(self.callback_seconds, 6),
            "wait_seconds": round(self.wait_seconds, 6),
            "measured_seconds": round(now - self.started, 6),
            "slowest": [(name, round(s, 6)) for name, s in
                        sorted(self.slowest.items(), key=lambda e: -e[1])],
            "timer_lateness_p50": pct(0.50),
            "timer_lateness_p99": pct(0.99),
            "timer_samples": len(samples),
            "interval_seconds": round(interval, 6),
        }

    def _report(self) -> Dict[str, Any]:
        counts: Dict[str, Any] = self._original("report")()
        counts.update(self.figures())
        return counts


_MISSING = object()


# -- the closures the loop calls ---------------------------------------------------------------
# Closures rather than objects with __call__: a call costs one Python frame.
def _timed(diag: Diagnostics, site: _Site) -> Callable[..., Any]:
    cb = site.cb
    clock = _clock

    def timed(*args: Any) -> Any:
        t0 = clock()
        try:
            return cb(*args)
        finally:
            t1 = clock()
            seconds = t1 - t0
            diag.callbacks += 1
            diag.callback_seconds += seconds
            recent = diag.recent
            if recent is not None:
                recent.append((diag.passes, t0, t1, site))
            if seconds > site.longest or seconds > diag.limit:
                diag.notable(site, seconds)

    _mark(timed, diag, site)
    return timed


def _timed_timer(diag: Diagnostics, site: _Site) -> Callable[..., Any]:
    inner = _timed(diag, site)
    monotonic = _monotonic

    def timed_timer(*args: Any) -> Any:
        diag.lateness.append(monotonic() - site.deadline)
        return inner(*args)

    _mark(timed_timer, diag, site)
    return timed_timer


def _mark(f: Any, diag: Diagnostics, site: _Site) -> None:
    f.__wrapped__ = site.cb  # so reprs and describe_callback() see the user's callback
    f.rel_site = site
    f.rel_diag = diag


def _probe(diag: Diagnostics, site: _Site, now: float, runs: int, passes: int) -> Callable[..., Any]:
    """A one-run stand-in for ``site``'s closure: does the callback consume
    anything (bytes read, bytes queued), or is the fd just always ready?"""
    w = site.watcher

    def probe(*args: Any) -> Any:
        if w.cb is probe:
            w.cb = site.timed
        before = _pending_bytes(w.fd, w.evtype)
        try:
            return site.timed(*args)
        finally:
            after = _pending_bytes(w.fd, w.evtype)
            if before is None or after is None:
                pass  # no evidence (a listening socket, no FIONREAD here): no accusation
            elif before == after:
                if w.evtype == "write":
                    what = "fd %d is always writable and its callback sends nothing" % (w.fd,)
                elif before:
                    what = ("fd %d stays readable and its callback leaves the %d bytes waiting "
                            "unread" % (w.fd, before))
                else:
                    what = ("fd %d stays ready (end of file or an error) and its callback neither "
                            "reads it nor returns falsy" % (w.fd,))
                diag._busy(site, now, runs, passes, what)

    _mark(probe, diag, site)
    return probe


def _measure_wait(diag: Diagnostics, real: Callable[..., Any]) -> Callable[..., Any]:
    clock = _clock

    def wait(timeout: Optional[float]) -> Any:
        t0 = clock()
        ready = real(timeout)
        diag.wait_seconds += clock() - t0
        diag.passes += 1
        return ready

    return wait


def _debug_wait(diag: Diagnostics, real: Callable[..., Any]) -> Callable[..., Any]:
    clock = _clock

    def wait(timeout: Optional[float]) -> Any:
        t0 = clock()
        ready = real(timeout)
        t1 = clock()
        diag.wait_seconds += t1 - t0
        diag.passes += 1
        if timeout != 0.0 and not ready:
            # It ran out its timeout: it blocked. (A wait that returns with
            # something ready may have blocked too, or not: the culprit test
            # decides, with evidence, so a long wait for data is no alarm.)
            diag.calm = t1
            diag.calm_pass = diag.passes
        elif t1 - diag.calm >= BUSY_AFTER and t1 >= diag.next_busy_look:
            diag.look_for_busy(ready, t1)
        return ready

    return wait


_WATCHED: Dict[Any, type] = {}  # {TimerHeap class: its watched subclass}


def _watched_heap(cls: Any) -> type:
    """``cls`` (a TimerHeap) whose ``push`` also wraps the timer's callback
    and tells its closure the deadline: every way a timer is armed (``add``,
    a truthy return, a registrar switch) goes through ``push``."""
    watched = _WATCHED.get(cls)
    if watched is not None:
        return watched

    def push(self: Any, timer: Any, deadline: float) -> None:
        site = getattr(timer.cb, "rel_site", None)
        if not isinstance(site, _Site) or site.watcher is not timer:
            diag = diagnostics(timer.registrar)
            site = diag.wrap(timer) if diag is not None else None
        if site is not None:
            site.deadline = deadline
        cls.push(self, timer, deadline)

    watched = _WATCHED[cls] = type("Watched" + cls.__name__, (cls,), {"__slots__": (), "push": push})
    return watched


if on_build not in _engine.BUILD_HOOKS:  # imported again (a test's reload): attached once
    _engine.BUILD_HOOKS.append(on_build)
