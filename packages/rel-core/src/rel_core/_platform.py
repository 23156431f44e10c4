"""What differs between POSIX and Windows, in one place.

Some facts about Windows, for the code that depends on them:

* A socket's ``fileno()`` is a SOCKET handle, not a C runtime file descriptor
  (Python's ``socket.fileno`` docs: "cannot be used where a file descriptor
  can be used"): ``os.fstat`` refuses it (``[WinError 6] Invalid handle``).
  Handles are numbers of their own, unrelated to fd numbers, and a closed or
  foreign handle cannot be told from a non-socket: both give WSAENOTSOCK.
* select() is the only readiness poller, and it takes sockets only: a pipe, a
  file or a console handle fails the whole call with WSAENOTSOCK. So on
  Windows rel can watch sockets only, and says so when registering anything
  else. A socket closed while registered fails select() the same way.
* CPython's select module is built with FD_SETSIZE 512 there, and an fd_set
  there is an array of handles, not a bitmap: each of select()'s three lists
  takes at most 512 *sockets*, whatever their handle values.
* ``signal.set_wakeup_fd`` takes a socket (and, before 3.5, nothing); rel's
  wake-up channel is a socketpair everywhere for that reason.
* The signals are SIGINT, SIGILL, SIGFPE, SIGSEGV, SIGTERM, SIGBREAK and
  SIGABRT; there is no SIGUSR1, SIGHUP, SIGALRM, SIGCHLD... Ctrl-C raises
  SIGINT, Ctrl-Break SIGBREAK.
* poll, epoll, kqueue and /dev/poll do not exist, so of rel's registrars
  only ``select`` (rel-registrars) and ``selectors`` (rel-core's portable
  one, whose DefaultSelector is a SelectSelector there) run.

On POSIX, an fd is watchable when it is open (``os.fstat``): sockets, pipes,
ttys, whatever the poller takes.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
from typing import FrozenSet, List

from .errors import FdSetSizeError

#: whether this is Windows (read once: rel's tests of Windows run a real one)
WINDOWS = sys.platform == "win32"

#: sockets per select() list on Windows (CPython's selectmodule.c sets FD_SETSIZE)
WINDOWS_FD_SETSIZE = 512

_WSAENOTSOCK = getattr(errno, "WSAENOTSOCK", 10038)

#: the errnos with which select() refuses an fd that was closed while registered
CLOSED_FD_ERRNOS: FrozenSet[int] = frozenset(
    (errno.EBADF, _WSAENOTSOCK, errno.ENOTSOCK) if WINDOWS else (errno.EBADF,))


def check_watchable(fd: int) -> None:
    """Raise OSError naming ``fd`` unless rel can watch it here: an open fd on
    POSIX, an open socket on Windows."""
    if WINDOWS:
        _check_socket(fd)
        return
    try:
        os.fstat(fd)
    except OSError as exc:
        raise OSError(exc.errno, "fd %d is not open: %s" % (fd, exc.strerror)) from None


def is_watchable(fd: int) -> bool:
    """Whether :func:`check_watchable` accepts ``fd``."""
    try:
        check_watchable(fd)
    except OSError:
        return False
    return True


def _check_socket(handle: int) -> None:
    # The family and type are given so that socket() does not ask the handle
    # (an unbound socket has no name to ask on Windows); SO_TYPE then asks the
    # one question every open socket answers and nothing else does.
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0, handle)
    except (OSError, ValueError, OverflowError) as exc:
        raise _not_a_socket(handle, exc) from None
    try:
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)
    except OSError as exc:
        raise _not_a_socket(handle, exc) from None
    finally:
        sock.detach()


def _not_a_socket(handle: int, exc: BaseException) -> OSError:
    return OSError(getattr(exc, "errno", None) or _WSAENOTSOCK,
                   "%d is not an open socket (%s): on Windows rel can watch only sockets, "
                   "because select() takes nothing else; a pipe, file or console cannot "
                   "be watched there" % (handle, exc))


def check_select_room(registered: int) -> None:
    """Before select() is given one more socket on Windows: raise
    FdSetSizeError when ``registered`` (the fds it watches already, the
    loop's wake-up socket included) fill a select() list. No-op on POSIX,
    where the limit is on fd numbers, not counts."""
    if WINDOWS and registered >= WINDOWS_FD_SETSIZE:
        raise FdSetSizeError(
            "select() watches at most %d sockets on Windows (CPython's FD_SETSIZE there), "
            "and this loop has %d, its own wake-up socket among them; no registrar "
            "watches more on Windows, where select() is the only poller: spread the "
            "sockets over more processes" % (WINDOWS_FD_SETSIZE, registered))


def signal_names() -> List[str]:
    """The names of the signals this platform has, in number order."""
    names = []
    for number in sorted(signal.valid_signals()):
        try:
            names.append(signal.Signals(number).name)
        except ValueError:  # a real-time signal: SIGRTMIN+n has no name of its own
            names.append(str(int(number)))
    return names
