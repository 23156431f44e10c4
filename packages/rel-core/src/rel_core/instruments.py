"""The instrumented pieces debug mode and measuring put in a registrar (see
:mod:`rel_core.debug`): per watcher, a :class:`Site` and the timing closure
the loop calls instead of the watcher's callback; per registrar, the timed
wait and the timer heap whose ``push`` learns deadlines. (Debug mode's wait,
which also watches for a busy loop, is in :mod:`rel_core.busy_loop`.)

They record into the registrar's :class:`~rel_core.diagnostics.Diagnostics`,
seen here as a :class:`Recorder` (this module does not import it: it
imports this one). Closures rather than objects with ``__call__``: a call
costs one Python frame.
"""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable, Deque, Dict, Optional, Protocol, Tuple

from .describe import describe_callback, describe_watcher

#: what callbacks are timed with, and what timer deadlines are on
clock = time.perf_counter
monotonic = time.monotonic

#: the attribute, in a registrar's instance dict, that holds its Diagnostics
ATTACHED = "_diagnostics"


class Site:
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


def site_of(w: Any) -> Optional[Site]:
    """The :class:`Site` of ``w``'s timing closure, or None (not wrapped)."""
    site = getattr(w.cb, "rel_site", None)
    return site if isinstance(site, Site) else None


class Recorder(Protocol):
    """What the closures below record into and call back (a registrar's
    :class:`~rel_core.diagnostics.Diagnostics` provides it)."""

    passes: int  # waits seen
    callbacks: int
    callback_seconds: float
    wait_seconds: float
    limit: float  # a run longer than this is slow
    lateness: Deque[float]  # how late timers ran, in seconds
    # debug mode: the last callbacks, (pass, start, end, site); None when measuring
    recent: Optional[Deque[Tuple[int, float, float, Site]]]
    calm: float  # when the loop last blocked (the busy-loop watch)
    calm_pass: int  # the pass it last blocked in
    next_busy_look: float  # when the busy-loop watch looks again

    def wrap(self, w: Any) -> Optional[Site]:
        """Give ``w`` a timing closure around its callback (once)."""

    def notable(self, site: Site, seconds: float) -> None:
        """A callback ran ``seconds``: slow, or its longest run yet."""


# -- the closures the loop calls instead of a callback -------------------------------------------
def timed(diag: Recorder, site: Site) -> Callable[..., Any]:
    """``site``'s callback, timed into ``diag``."""
    cb = site.cb
    clock_ = clock

    def timed(*args: Any) -> Any:
        t0 = clock_()
        try:
            return cb(*args)
        finally:
            t1 = clock_()
            seconds = t1 - t0
            diag.callbacks += 1
            diag.callback_seconds += seconds
            recent = diag.recent
            if recent is not None:
                recent.append((diag.passes, t0, t1, site))
            if seconds > site.longest or seconds > diag.limit:
                diag.notable(site, seconds)

    mark(timed, diag, site)
    return timed


def timed_timer(diag: Recorder, site: Site) -> Callable[..., Any]:
    """A timer's :func:`timed`, which also records how late it runs."""
    inner = timed(diag, site)
    monotonic_ = monotonic

    def timed_timer(*args: Any) -> Any:
        diag.lateness.append(monotonic_() - site.deadline)
        return inner(*args)

    mark(timed_timer, diag, site)
    return timed_timer


def mark(f: Any, diag: Recorder, site: Site) -> None:
    """Make ``f`` a timing closure of ``site`` for ``diag``."""
    f.__wrapped__ = site.cb  # so reprs and describe_callback() see the user's callback
    f.rel_site = site
    f.rel_diag = diag


# -- per registrar: the wait and the timer heap ----------------------------------------------------
def measure_wait(diag: Recorder, real: Callable[..., Any]) -> Callable[..., Any]:
    """The wait ``real``, timed and its passes counted into ``diag``."""
    clock_ = clock

    def wait(timeout: Optional[float]) -> Any:
        t0 = clock_()
        ready = real(timeout)
        diag.wait_seconds += clock_() - t0
        diag.passes += 1
        return ready

    return wait


_WATCHED: Dict[Any, type] = {}  # {TimerHeap class: its watched subclass}


def watched_heap(cls: Any) -> type:
    """``cls`` (a TimerHeap) whose ``push`` also wraps the timer's callback
    and tells its closure the deadline: every way a timer is armed (``add``,
    a truthy return, a registrar switch) goes through ``push``."""
    watched = _WATCHED.get(cls)
    if watched is not None:
        return watched

    def push(self: Any, timer: Any, deadline: float) -> None:
        site = getattr(timer.cb, "rel_site", None)
        if not isinstance(site, Site) or site.watcher is not timer:
            diag: Optional[Recorder] = timer.registrar.__dict__.get(ATTACHED)
            site = diag.wrap(timer) if diag is not None else None
        if site is not None:
            site.deadline = deadline
        cls.push(self, timer, deadline)

    watched = _WATCHED[cls] = type("Watched" + cls.__name__, (cls,), {"__slots__": (), "push": push})
    return watched
