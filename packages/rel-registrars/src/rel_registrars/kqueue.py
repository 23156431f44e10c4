"""The kqueue registrar: macOS, FreeBSD, OpenBSD, NetBSD, DragonFly BSD.

Some facts about kqueue:

* Interest is one "knote" per (fd, filter): EVFILT_READ and EVFILT_WRITE are
  added and deleted separately, in one ``control(changes, 0)`` call. A change
  that fails makes the call raise (there is no room to report it as an
  EV_ERROR event), and the changes after it are not applied.
* There is no hang-up filter. A peer's close (or a socket error) is EV_EOF on
  the READ filter (and on the WRITE filter once nothing more can be sent), with
  the socket error, if any, in ``fflags``. So:
  - a read watcher gets EVFILT_READ, level-triggered; EV_EOF also reaches the
    error() watcher, and the reader reads EOF;
  - an error() watcher without a reader gets EVFILT_READ with EV_CLEAR (edge
    triggered): unread bytes wake it once, are ignored (nobody reads them) and
    cannot make the loop spin, while EOF still arrives. EV_CLEAR cannot be
    toggled on a live knote, so switching between the two deletes and re-adds;
  - EV_EOF on the write filter wakes the writer (its send fails) and the
    error() watcher.
* close() removes an fd's knotes: a closed fd is never reported, and deleting
  its knotes later fails (EBADF/ENOENT), which the engine ignores. A number
  reused by a new file has no knotes: when a watcher replaces a stale one,
  the engine unregisters and registers the fd again, which re-adds them.
* Timeouts have nanosecond resolution: nothing to round.
* Each ready knote is one event, so one fd can come back twice (READ and
  WRITE); the wait merges them into one ``(fd, bits)``.

Elsewhere the module raises ImportError. The tests run this class over a double
of ``select.kqueue``/``select.kevent`` (tests/doubles.py) by setting ``_select``.
"""

from __future__ import annotations

import select
from typing import Any, Dict, List, Optional, Tuple

from rel_core.registrar import Registrar

from ._base import unavailable

PLATFORMS = "macOS, FreeBSD, OpenBSD, NetBSD and DragonFly BSD"

R, W, E = 1, 2, 4  # rel's read/write/error bits, for this registrar's masks and ready bits

# The most events one wait returns; level triggering hands the rest to the next.
MAX_EVENTS = 1024


class KqueueRegistrar(Registrar):
    """rel's registrar on ``select.kqueue`` (macOS, the BSDs)."""

    name = "kqueue"
    #: the ``select``-like module the kqueue comes from (tests substitute a double)
    _select: Any = select
    _WANT_READ = _READY_READ = R
    _WANT_WRITE = _READY_WRITE = W
    _WANT_ERROR = _READY_ERROR = E

    def _poller_open(self) -> None:
        sel = self._select
        self._kq = sel.kqueue()
        self._control = self._kq.control
        self._kevent = sel.kevent
        self._f_read, self._f_write = sel.KQ_FILTER_READ, sel.KQ_FILTER_WRITE
        self._ev_add, self._ev_delete, self._ev_clear = sel.KQ_EV_ADD, sel.KQ_EV_DELETE, sel.KQ_EV_CLEAR
        self._ev_trouble = sel.KQ_EV_EOF | sel.KQ_EV_ERROR
        self._masks: Dict[int, int] = {}  # {fd: mask the knotes stand for}

    def _poller_close(self) -> None:
        self._kq.close()

    def _read_flags(self, mask: int) -> int:
        """The EVFILT_READ knote's flags for ``mask`` (0: no knote)."""
        if mask & R:
            return self._ev_add  # type: ignore[no-any-return]
        return self._ev_add | self._ev_clear if mask & E else 0  # type: ignore[no-any-return]

    def _changes(self, fd: int, old: int, new: int) -> List[Any]:
        """The kevents that move ``fd``'s knotes from ``old``'s needs to ``new``'s."""
        kev, changes = self._kevent, []
        old_r, new_r = self._read_flags(old), self._read_flags(new)
        if old_r != new_r:
            if old_r:
                changes.append(kev(fd, self._f_read, self._ev_delete))
            if new_r:
                changes.append(kev(fd, self._f_read, new_r))
        if (old ^ new) & W:
            changes.append(kev(fd, self._f_write, self._ev_add if new & W else self._ev_delete))
        return changes

    def _poller_register(self, fd: int, mask: int) -> None:
        self._control(self._changes(fd, 0, mask), 0)
        self._masks[fd] = mask

    def _poller_modify(self, fd: int, mask: int) -> None:
        changes = self._changes(fd, self._masks[fd], mask)
        if changes:
            self._control(changes, 0)
        self._masks[fd] = mask

    def _poller_unregister(self, fd: int) -> None:
        # One call per knote: a failing delete must not keep the next one alive
        # (a knote nobody watches would be reported on every wait).
        for change in self._changes(fd, self._masks.pop(fd, 0), 0):
            try:
                self._control([change], 0)
            except OSError:
                pass  # closed: close() took its knotes

    def _poller_wait(self, timeout: Optional[float]) -> List[Tuple[int, int]]:
        """Wait up to ``timeout`` s; one ``(fd, bits)`` per fd, EOF as error."""
        try:
            events = self._control(None, MAX_EVENTS, timeout)
        except InterruptedError:
            return []
        # The one translation: filter -> read/write, EV_EOF/EV_ERROR -> error.
        ready: Dict[int, int] = {}
        f_read, trouble = self._f_read, self._ev_trouble
        for ev in events:
            bits = R if ev.filter == f_read else W
            if ev.flags & trouble:
                bits |= E
            ready[ev.ident] = ready.get(ev.ident, 0) | bits
        return list(ready.items())


if not hasattr(select, "kqueue"):
    raise unavailable("kqueue", "kqueue", PLATFORMS)
