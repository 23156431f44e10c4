"""The epoll registrar: Linux (and Android).

Some facts about epoll, beyond the poll family's (see ``_base``):

* Its bits are poll(2)'s (``EPOLLIN == POLLIN``, ``EPOLLRDHUP == POLLRDHUP``...),
  so the family's translation applies unchanged and ``epoll.poll``'s list goes
  to the engine as it is: the wait is one C call and nothing else.
* An interest is keyed by (fd number, open file). close() of the last fd
  referring to a file removes it silently: no POLLNVAL, no event, ever. So a
  watcher whose fd was closed while registered stays until it is deleted or
  its fd number is reused: when a watcher for the new file replaces a stale
  one, the engine unregisters and registers the number afresh; and a loop with
  no timer that finds nothing ready for IDLE_AUDIT seconds looks for closed
  fds itself (``_FORGETS_CLOSED``), so dispatch() cannot wait for them
  forever. If a dup() of the file lives on (another fd, a child process),
  epoll keeps reporting it under the old number, which can no longer be
  unregistered: delete watchers before closing their fds.
* ``epoll.poll(timeout)`` takes seconds (None: forever) and itself rounds them
  *up* to whole milliseconds (CPython uses ``ROUND_CEILING``), so a wait never
  returns before its timer is due; interrupted by a signal whose handler did
  not raise, it waits again for the time left (PEP 475). So it *is* the wait.
  Its ``maxevents`` must be at least 1; the default (-1) means FD_SETSIZE - 1
  = 1023 (measured: no slower than a small one), and level triggering hands
  any fd left over to the next call, in the order the kernel keeps ready fds
  (fair: round-robin).
"""

from __future__ import annotations

import select

from ._base import PollFamilyRegistrar, unavailable

PLATFORMS = "Linux"


class EpollRegistrar(PollFamilyRegistrar):
    """rel's registrar on ``select.epoll`` (Linux)."""

    name = "epoll"
    _factory = "epoll"
    _FORGETS_CLOSED = True  # see "keyed by the open file" above

    def _poller_open(self) -> None:
        super()._poller_open()
        # The wait is epoll.poll itself, no Python frame around it: it takes
        # seconds or None, rounds up, and retries on EINTR (PEP 475).
        self._poller_wait = self._poll  # type: ignore[method-assign]


if not hasattr(select, "epoll"):
    raise unavailable("epoll", "epoll", PLATFORMS)
