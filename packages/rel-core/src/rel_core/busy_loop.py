"""Debug mode's busy-loop watch (see :mod:`rel_core.debug`).

Debug mode's wait (:func:`debug_wait`) notes when the loop last blocked; once
it has not for :data:`BUSY_AFTER` seconds, :func:`look_for_busy` looks at the
callbacks of the passes since for one that ran on nearly every pass. A timer
shorter than :data:`BUSY_TIMER` is a culprit as it stands; an fd's callback is
run once through :func:`probe`, which names it only if it consumed nothing
(the bytes waiting to be read, or queued to be sent, are the same after it),
so a loop busy working is no alarm. Each culprit is named once.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, Optional

from .instruments import Recorder, Site, clock, mark
from .listener import SocketIO, Timer
from .logs import logger

try:
    import fcntl
    import termios

    _FIONREAD: Optional[int] = termios.FIONREAD
    _OUTQ: Optional[int] = getattr(termios, "TIOCOUTQ", None)  # == SIOCOUTQ on Linux
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    _FIONREAD = _OUTQ = None

#: a loop that has not blocked for this long is looked at for a busy culprit
BUSY_AFTER = 1.0
# A timer of a shorter delay that runs on every pass is a busy culprit (the
# loop waits 0 s for it).
BUSY_TIMER = 0.001
# A culprit runs on at least this share of the passes looked at.
BUSY_SHARE = 0.9


def debug_wait(diag: Recorder, real: Callable[..., Any]) -> Callable[..., Any]:
    """The wait ``real``, timed and its passes counted into ``diag`` (as
    :func:`~rel_core.instruments.measure_wait`), watching for a loop that
    never blocks."""
    clock_ = clock

    def wait(timeout: Optional[float]) -> Any:
        t0 = clock_()
        ready = real(timeout)
        t1 = clock_()
        diag.wait_seconds += t1 - t0
        diag.passes += 1
        if timeout != 0.0 and not ready:
            # It ran out its timeout: it blocked. (A wait that returns with
            # something ready may have blocked too, or not: the culprit test
            # decides, with evidence, so a long wait for data is no alarm.)
            diag.calm = t1
            diag.calm_pass = diag.passes
        elif t1 - diag.calm >= BUSY_AFTER and t1 >= diag.next_busy_look:
            diag.next_busy_look = t1 + BUSY_AFTER
            look_for_busy(diag, ready, t1)
        return ready

    return wait


def look_for_busy(diag: Recorder, ready: Any, now: float) -> None:
    """The loop has not blocked for BUSY_AFTER seconds: name a culprit that
    runs on nearly every pass and does nothing, once."""
    recent = [e for e in diag.recent or () if e[0] > diag.calm_pass]
    if not recent:
        return
    passes = diag.passes - recent[0][0]  # the current pass has run nothing yet
    if passes <= 0:
        return
    runs: Dict[Site, int] = {}
    last: Dict[Site, int] = {}
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
                busy_culprit(diag, site, now, runs[site], passes,
                             "a %g-second timer that re-arms itself on every pass" % (w.delay,))
                return
        elif isinstance(w, SocketIO) and w.cb is site.timed:
            w.cb = probe(diag, site, now, runs[site], passes)
            return


def busy_culprit(diag: Recorder, site: Site, now: float, runs: int, passes: int, what: str) -> None:
    """Warn that ``site`` keeps the loop busy doing ``what``; not again for it."""
    site.busy_reported = True
    logger.warning("rel: busy loop: the loop has not blocked for %.1f s (%d passes); "
                   "culprit: %s, of the %s, which ran on %d of the last %d passes: %s",
                   now - diag.calm, diag.passes - diag.calm_pass, site.name, site.where(),
                   runs, passes, what)


def probe(diag: Recorder, site: Site, now: float, runs: int, passes: int) -> Callable[..., Any]:
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
                busy_culprit(diag, site, now, runs, passes, what)

    mark(probe, diag, site)
    return probe


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
