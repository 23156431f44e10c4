"""The select registrar: everywhere (POSIX and Windows), the last resort.

Some facts about select(2):

* It keeps no state in the kernel: each wait passes three sets (read, write,
  exceptional). So registering is bookkeeping, and a closed fd is only noticed
  when select() fails with EBADF (Windows: WSAENOTSOCK) without naming it; the
  wait then tries each fd alone and drops the ones that fail.
* Its sets are bitmaps of FD_SETSIZE bits (1024 on Linux, macOS, the BSDs):
  CPython refuses an fd number at or above it with ValueError, on every call.
  Registration asks CPython itself whether an fd >= 1024 fits (one select of
  that fd alone), and refuses one that does not with FdSetSizeError (a
  ValueError, and an OSError so that the engine arms nothing), naming the
  registrars without the limit (ImportError if the fd is the registrar's own
  wake-up fd: select cannot run in this process then, and ``initialize()``
  moves on to the next registrar). On Windows FD_SETSIZE (512) counts sockets,
  not numbers: the 513th fd is refused the same way.
* There is no hang-up bit: a hang-up or a socket error shows as readable (and
  writable). So an error() watcher's fd is watched for reading, and when it is
  readable we look closer (``_probe``): a pending socket error or end-of-file
  is the error condition. Bytes waiting for a reader that does not exist are
  not, nor is a connection waiting on a listening socket; that fd is parked
  (left out of the read set, so that the loop does not spin) until one of its
  watchers changes. The exceptional set (out-of-band data on POSIX, a failed
  connect on Windows) also reaches error() watchers, and on Windows write()
  watchers too: a failed connect shows there only.
* The timeout has microsecond resolution, which CPython rounds up.
"""

from __future__ import annotations

import select
import socket
import sys
from typing import Dict, List, Optional, Set, Tuple

from rel_core._platform import WINDOWS, check_select_room
from rel_core._platform import WINDOWS_FD_SETSIZE as WINDOWS_FD_SETSIZE  # kept importable here
from rel_core.errors import FdSetSizeError as FdSetSizeError  # kept importable here
from rel_core.registrar import Registrar

PLATFORMS = "every platform"
R, W, E = 1, 2, 4  # rel's read/write/error bits, for this registrar's masks and ready bits

# Below this every select() takes any fd; above, registration asks CPython.
SMALLEST_FD_SETSIZE = 1024
_PEEK = socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0)
_ACCEPTCONN = getattr(socket, "SO_ACCEPTCONN", None)
# Windows reports a failed non-blocking connect() in the exceptional set only,
# never as writable: there writers' fds go in that set too, and it wakes them.
_X_FOR = E | W if WINDOWS else E


class SelectRegistrar(Registrar):
    """rel's registrar on ``select.select`` (any platform)."""

    name = "select"
    _WANT_READ = _READY_READ = R
    _WANT_WRITE = _READY_WRITE = W
    _WANT_ERROR = _READY_ERROR = E
    _FORGETS_CLOSED = False  # a closed fd fails the wait: it is dropped then

    def _poller_open(self) -> None:
        # Dicts used as ordered sets: select() reports ready fds in the order it
        # was given them, so the first registered (the engine's wake-up fd) comes
        # first, and calls queued from other threads apply before the I/O
        # callbacks of the same pass, as with the kernel-queue pollers.
        self._r: Dict[int, None] = {}  # readers' fds and error() watchers' (unless parked)
        self._w: Dict[int, None] = {}  # writers' fds
        self._x: Dict[int, None] = {}  # error() watchers' fds
        self._parked: Set[int] = set()  # error()-only fds holding unread bytes

    def _poller_close(self) -> None:
        for fds in (self._r, self._w, self._x, self._parked):
            fds.clear()

    def _poller_register(self, fd: int, mask: int) -> None:
        if WINDOWS:
            check_select_room(len(self._kmask))
        elif fd >= SMALLEST_FD_SETSIZE:
            try:
                select.select([fd], [], [], 0)
            except ValueError:
                why = "select() only takes fds below FD_SETSIZE (1024 on most systems); this one is %d" % fd
                if fd == self._waker.fileno():  # our own, at creation: unusable in this process
                    raise ImportError("'select' cannot run here now: " + str(_too_many(why))) from None
                raise _too_many(why) from None
            except OSError:
                pass  # in range: the engine reports a closed fd itself
        self._poller_modify(fd, mask)

    def _poller_modify(self, fd: int, mask: int) -> None:
        self._parked.discard(fd)
        for bits, fds in ((R | E, self._r), (W, self._w), (_X_FOR, self._x)):
            if mask & bits:
                fds[fd] = None
            else:
                fds.pop(fd, None)

    def _poller_unregister(self, fd: int) -> None:
        self._poller_modify(fd, 0)

    def _poller_wait(self, timeout: Optional[float]) -> List[Tuple[int, int]]:
        """One select(); readable fds of error() watchers probed for hang-up."""
        try:
            r, w, x = select.select(self._r, self._w, self._x, timeout)
        except InterruptedError:
            return []
        except OSError:
            if not self._drop_closed():
                raise
            return []
        if not w and not x and not self._x:
            return [(fd, R) for fd in r]  # the common case: readers only
        ready: Dict[int, int] = dict.fromkeys(r, R)
        for fd in w:
            ready[fd] = ready.get(fd, 0) | W
        for fd in x:
            ready[fd] = ready.get(fd, 0) | _X_FOR
        kmask = self._kmask
        for fd in r:
            mask = kmask.get(fd, 0)
            if mask & E:
                if self._probe(fd):
                    ready[fd] |= E
                elif not mask & R:  # bytes for a reader that does not exist
                    del self._r[fd]
                    self._parked.add(fd)
        return list(ready.items())

    def _probe(self, fd: int) -> bool:
        """Readable ``fd``: a hang-up or error (True), or bytes waiting (False)?"""
        try:
            sock = socket.socket(fileno=fd)
        except OSError:  # not a socket: a pipe or a tty
            return _bytes_waiting(fd) == 0
        try:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                return True
            if _ACCEPTCONN is not None and sock.getsockopt(socket.SOL_SOCKET, _ACCEPTCONN):
                # A listening socket, readable because a connection waits for
                # accept(): no error, and parked like unread bytes. Asked, not
                # guessed from recv's errno (ENOTCONN for TCP, EINVAL for AF_UNIX).
                return False
            return not sock.recv(1, _PEEK)
        except BlockingIOError:
            return False
        except OSError:
            return True  # e.g. ENOTCONN: a socket never connected (poll says HUP)
        finally:
            sock.detach()

    def _drop_closed(self) -> bool:
        """select() failed naming no fd: drop each fd that fails alone."""
        found = False
        for fd in list(self._kmask):
            try:
                select.select([fd], [fd], [fd], 0)
            except (OSError, ValueError) as exc:
                self._drop_fd(fd, exc)
                found = True
        return found


def _bytes_waiting(fd: int) -> int:
    """Bytes readable on a pipe or tty; -1 if unknown."""
    try:
        import fcntl
        import termios

        buf = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    except (ImportError, OSError):
        return -1
    return int.from_bytes(buf, sys.byteorder, signed=True)


def _too_many(why: str) -> FdSetSizeError:
    return FdSetSizeError("%s; the epoll, kqueue, devpoll, poll and selectors registrars "
                          "have no such limit: initialize() with one of them" % why)
