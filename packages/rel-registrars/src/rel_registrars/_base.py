"""What the registrars share: the poll family's class and the ImportError text.

Some facts about the poll family (``select.poll``, ``select.epoll``,
``select.devpoll``), written once for the three registrars built on it:

* All three speak poll(2)'s bits, with the same values wherever they exist
  (``EPOLLIN == POLLIN == 1``, ``POLLOUT == 4``, ``POLLERR == 8``,
  ``POLLHUP == 16``, ``POLLNVAL == 32``; ``POLLRDHUP`` is 0x2000 on Linux and
  0x4000 on illumos). So one translation serves all three: the ``_WANT_*`` and
  ``_READY_*`` class attributes below, and the kernel's list of ``(fd, bits)``
  goes to the engine as it is, with no per-event work in Python.
* POLLERR and POLLHUP are always reported, asked for or not, and stay reported
  while the condition lasts. They wake read watchers (a read then sees the error
  or EOF) and write watchers (a send fails), and reach error() watchers. So a
  closed peer cannot make the loop spin: every watcher on the fd is woken, and
  each one that deletes itself takes its interest away.
* A TCP peer's close() only half-closes our side: the kernel reports POLLIN (a
  read returns b"") and POLLRDHUP, not POLLHUP. error() watchers ask for
  POLLRDHUP (Linux, illumos) so that they hear of it; where it does not exist,
  an error()-only fd is registered with no bits and still gets POLLERR/POLLHUP.
* poll and /dev/poll are keyed by fd number: an fd closed while registered is
  reported as POLLNVAL, which this class turns into ``_drop_fd``. epoll is keyed
  by the open file: it forgets a closed fd by itself (see epoll.py).
* Timeouts are whole milliseconds. A wait is rounded *up* so that it never
  returns before the timer it waits for is due.
* Python retries a wait interrupted by a signal (PEP 475), unless the signal
  handler raised; InterruptedError is mapped to "nothing ready" all the same.
"""

from __future__ import annotations

import math
import select
import sys
from typing import Any, List, Optional, Tuple

from rel_core.registrar import Registrar

# The POSIX values, for platforms whose select module lacks the names (Windows),
# so that every module of this package imports everywhere up to its own check.
POLLIN = getattr(select, "POLLIN", 0x001)
POLLOUT = getattr(select, "POLLOUT", 0x004)
POLLERR = getattr(select, "POLLERR", 0x008)
POLLHUP = getattr(select, "POLLHUP", 0x010)
POLLNVAL = getattr(select, "POLLNVAL", 0x020)
POLLRDHUP = getattr(select, "POLLRDHUP", 0)  # Linux and illumos only


def unavailable(name: str, call: str, platforms: str) -> ImportError:
    """The ImportError a registrar module raises where its kernel call is missing."""
    return ImportError("the %r registrar needs select.%s, which exists only on %s "
                       "(this is %s)" % (name, call, platforms, sys.platform))


class PollFamilyRegistrar(Registrar):
    """A registrar over a poll-like object: ``register``/``modify``/
    ``unregister(fd)`` and a wait returning ``[(fd, bits)]``."""

    #: the ``select``-like module the poller comes from (tests substitute a double)
    _select: Any = select
    #: the name of the poller factory in ``_select``
    _factory = "poll"

    # The one translation between rel's watchers and the kernel's bits.
    _WANT_READ = POLLIN
    _WANT_WRITE = POLLOUT
    _WANT_ERROR = POLLRDHUP  # ERR and HUP need no asking
    _READY_READ = POLLIN | POLLERR | POLLHUP  # hang-up wakes readers: they read EOF
    _READY_WRITE = POLLOUT | POLLERR | POLLHUP  # and writers: their send fails
    _READY_ERROR = POLLERR | POLLHUP | POLLRDHUP
    _FORGETS_CLOSED = False  # a closed fd fails the wait: it is dropped then

    def _poller_open(self) -> None:
        self._poller = poller = getattr(self._select, self._factory)()
        # The primitive maps one to one onto the poller's own methods: bind them
        # over the class's, so registering costs one C call.
        self._poller_register = poller.register  # type: ignore[method-assign]
        self._poller_modify = poller.modify  # type: ignore[method-assign]
        self._poller_unregister = poller.unregister  # type: ignore[method-assign]
        self._poll = poller.poll

    def _poller_close(self) -> None:
        close = getattr(self._poller, "close", None)  # select.poll has none
        if close is not None:
            close()

    def _poller_wait(self, timeout: Optional[float]) -> List[Tuple[int, int]]:
        """Wait up to ``timeout`` s, rounded up to whole ms; drop POLLNVAL fds."""
        try:
            events = self._poll(-1 if timeout is None else math.ceil(timeout * 1000.0))
        except InterruptedError:
            return []
        for _fd, bits in events:
            if bits & POLLNVAL:
                return self._drop_invalid(events)
        return events  # type: ignore[no-any-return]

    def _drop_invalid(self, events: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
        """Drop the fds reported closed (POLLNVAL); return the rest."""
        ready = []
        for fd, bits in events:
            if bits & POLLNVAL:
                self._drop_fd(fd, "POLLNVAL: not an open fd")
            else:
                ready.append((fd, bits))
        return ready
