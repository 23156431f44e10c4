"""The diagnostics of one registrar: :class:`Diagnostics` substitutes the
instrumented pieces (:mod:`rel_core.instruments`) on the registrar instance,
puts the originals back, warns (slow callbacks, loop lag, dropped watchers,
busy loops) and keeps the loop's own figures. How it is turned on and off,
and what it says: :mod:`rel_core.debug`.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any, Deque, Dict, Optional, Tuple

from .busy_loop import debug_wait
from .describe import registration_stack
from .instruments import (ATTACHED, Site, clock, measure_wait, monotonic, site_of, timed, timed_timer,
                          watched_heap)
from .listener import Signal, SocketIO, Timer
from .logs import logger

if TYPE_CHECKING:  # pragma: no cover
    from .registrar import Registrar

# Callbacks remembered (debug mode) for the lag and busy-loop culprits.
RECENT = 512
# Timer lateness samples kept per report interval.
LATENESS_SAMPLES = 10000
# Names kept in report()'s "slowest".
SLOWEST = 5

_MISSING = object()


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
        self.started = self.interval_start = clock()
        self.first_tick = reg.tick
        self.passes = 0  # waits seen (the busy-loop watch counts passes with them)
        self.callbacks = 0
        self.callback_seconds = 0.0
        self.wait_seconds = 0.0
        self.slowest: Dict[str, float] = {}  # {callback name: longest run}, the SLOWEST longest
        self.limit = threshold if warn else float("inf")  # a run longer than this is slow
        self.lateness: Deque[float] = collections.deque(maxlen=LATENESS_SAMPLES)
        # debug mode: the last callbacks, (pass, start, end, site)
        self.recent: Optional[Deque[Tuple[int, float, float, Site]]] = (
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
        reg.__dict__[ATTACHED] = self
        self._substitute("_arm_io_here", self._arm_io_here)
        self._substitute("_direct_io", False)  # so that every arm passes the one above
        self._substitute("_arm_signal", self._arm_signal)
        self._substitute("_forget", self._forget)
        self._substitute("report", self._report)
        self.reinstall_wait()
        heap = reg._timers
        self._heap_class = type(heap)
        heap.__class__ = watched_heap(type(heap))
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
        self._substitute("_poller_wait", debug_wait(self, real) if self.warn else measure_wait(self, real))
        if self.warn:
            self._substitute("_run_timers", self._run_timers)

    def start_warning(self, threshold: float) -> None:
        """Debug mode, with ``threshold``, from now on (measuring until now,
        or debug mode with another threshold)."""
        self.threshold = threshold
        if not self.warn:
            self.warn = True
            self.recent = collections.deque(maxlen=RECENT)
            self.reinstall_wait()
        self.limit = threshold

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
        d.pop(ATTACHED, None)

    # -- wrapping callbacks -----------------------------------------------------------------
    def wrap(self, w: Any) -> Optional[Site]:
        """Give ``w`` a timing closure around its callback (once)."""
        cb = w.cb
        if cb is None or getattr(w, "internal", False):
            return None
        old = getattr(cb, "rel_site", None)
        if isinstance(old, Site):
            if old.watcher is w and getattr(cb, "rel_diag", None) is self:
                return old
            cb = old.cb  # wrapped for another registrar (switched): wrap afresh
        if getattr(cb, "__func__", None) is SocketIO._on_delay:
            return None  # runs the I/O watcher's own (wrapped) callback
        site = Site(w, cb)
        if isinstance(old, Site) and old.watcher is w:
            site.stack, site.deadline = old.stack, old.deadline
        site.timed = timed_timer(self, site) if isinstance(w, Timer) else timed(self, site)
        w.cb = site.timed
        return site

    @staticmethod
    def unwrap(w: Any) -> None:
        site = site_of(w)
        if site is not None:
            w.cb = site.cb

    def _arm_io_here(self, w: SocketIO) -> Any:
        site = self.wrap(w)
        if site is not None and self.warn:
            site.stack = registration_stack()
        return self._original("_arm_io_here")(w)

    def _arm_signal(self, w: Signal) -> Any:
        self.wrap(w)
        return self._original("_arm_signal")(w)

    # -- what the substitutes do ----------------------------------------------------------------
    def notable(self, site: Site, seconds: float) -> None:
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
        since = deadline + (clock() - monotonic())  # on the clock callbacks are timed with
        held: Dict[Site, float] = {}
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
            site = site_of(w)
            if w.active or site is None or site.stack is None:
                continue
            logger.warning("rel: the %s dropped (fd %d closed while registered), callback %s, "
                           "had been registered at (most recent call last):\n%s",
                           site.where(), fd, site.name, "".join(site.stack.format()).rstrip())

    # -- the figures --------------------------------------------------------------------------------
    def figures(self) -> Dict[str, Any]:
        """The loop's own figures (see the class docstring); starts a new
        lateness interval."""
        now = clock()
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
