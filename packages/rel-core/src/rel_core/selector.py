"""The portable registrar, on the standard library's ``selectors`` module.

Runs wherever Python runs (``selectors.DefaultSelector``: epoll, kqueue,
devpoll, poll or select, whichever the platform has best). rel-registrars has
faster ones that talk to each kernel interface directly; this one is rel-core's
fallback, registered as ``selectors``.

``selectors`` speaks only "readable" and "writable": it folds hang-up and error
conditions into both. So an fd with only an ``error()`` watcher is polled for
readability, and when it turns readable the loop asks us to look closer
(``_poller_probe``): a socket error or end-of-file is the error condition;
bytes waiting for a reader that does not exist yet are not (nor is a
connection waiting on a listening socket, nor what an fd that cannot be
looked into holds), and the fd is
parked (left out of the poller, so a level-triggered poller does not spin)
until a watcher changes.

The wait is the selector's own ``select()``, handed to the loop as it is, and
its ``(key, events)`` list too: selectors already costs a Python layer per
wait, this registrar adds none. Only ``SelectSelector`` gets a wrapper, because
select(2) fails as a whole (EBADF; WSAENOTSOCK on Windows) on an fd closed
while registered, and, on Windows, where it is the DefaultSelector, a count:
select() there takes 512 sockets a list (see ``_platform``).
"""

from __future__ import annotations

import errno
import select
import selectors
import socket
from typing import List, Optional, Set, Tuple, Type

from . import _platform
from .registrar import Registrar

try:
    import fcntl
    import termios

    def _bytes_waiting(fd: int) -> int:
        return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), "little", signed=True)
except ImportError:  # pragma: no cover - Windows: sockets only, probed with recv
    def _bytes_waiting(fd: int) -> int:
        raise OSError(errno.ENOTSUP, "FIONREAD")

_PEEK = socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0)
# Windows has no MSG_DONTWAIT: there the peek at a blocking socket whose bytes a
# callback earlier in the pass read would wait for more (the loop hung).
_PEEK_MAY_WAIT = not hasattr(socket, "MSG_DONTWAIT")
_RW = selectors.EVENT_READ | selectors.EVENT_WRITE
_ACCEPTCONN = getattr(socket, "SO_ACCEPTCONN", None)  # Linux, the BSDs, macOS and Windows have it


class SelectorRegistrar(Registrar):
    """The portable registrar (any platform), on ``selectors.DefaultSelector``."""

    name = "selectors"
    _WANT_READ = selectors.EVENT_READ
    _WANT_WRITE = selectors.EVENT_WRITE
    _WANT_ERROR = 4
    _READY_READ = selectors.EVENT_READ
    _READY_WRITE = selectors.EVENT_WRITE
    _READY_ERROR = 4
    _REPORTS_KEYS = True  # selectors' (key, bits) list, handed on untouched
    #: the ``selectors`` class to use: the platform's best by default
    selector_class: Type[selectors.BaseSelector] = selectors.DefaultSelector

    def _poller_open(self) -> None:
        self._selector = self.selector_class()
        self._error_only: Set[int] = set()  # fds polled for reading on behalf of error()
        self._parked: Set[int] = set()  # ...of which those holding unread bytes
        # Windows' select() takes 512 sockets a list: count them.
        self._counted = isinstance(self._selector, selectors.SelectSelector)
        if not self._counted:
            # epoll, kqueue, devpoll and poll forget or flag a closed fd on
            # their own: no wrapper needed around the wait.
            self._poller_wait = self._selector.select  # type: ignore[method-assign]

    def _poller_close(self) -> None:
        self._selector.close()

    def _interest(self, fd: int, mask: int) -> int:
        if mask & _RW:
            self._error_only.discard(fd)
            return mask & _RW
        self._error_only.add(fd)
        return selectors.EVENT_READ

    def _poller_register(self, fd: int, mask: int) -> None:
        if self._counted:
            _platform.check_select_room(len(self._kmask))
        try:
            self._selector.register(fd, self._interest(fd, mask))
        except ValueError as exc:  # selectors' word for a bad fd
            self._error_only.discard(fd)
            raise OSError(errno.EBADF, str(exc)) from None

    def _poller_modify(self, fd: int, mask: int) -> None:
        if fd in self._parked:
            self._parked.discard(fd)
            return self._poller_register(fd, mask)
        try:
            self._selector.modify(fd, self._interest(fd, mask))
        except (KeyError, ValueError) as exc:
            raise OSError(errno.EBADF, str(exc)) from None
        return None

    def _poller_unregister(self, fd: int) -> None:
        self._error_only.discard(fd)
        if fd in self._parked:
            self._parked.discard(fd)
        else:
            self._selector.unregister(fd)

    def _poller_wait(self, timeout: Optional[float]) -> List[Tuple[selectors.SelectorKey, int]]:
        try:
            return self._selector.select(timeout)
        except OSError as exc:
            if exc.errno not in _platform.CLOSED_FD_ERRNOS:
                raise
            self._drop_closed()  # select() names no culprit: find them
            return []

    def _poller_probe(self, fd: int) -> int:
        """Readable fd with only an error watcher: is it an error, or data?"""
        if fd not in self._error_only:
            return 0
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            sock = None
        try:
            if sock is None:
                waiting = _bytes_waiting(fd)
            elif sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                return self._READY_ERROR
            elif _ACCEPTCONN is not None and sock.getsockopt(socket.SOL_SOCKET, _ACCEPTCONN):
                # A listening socket: a connection waits for accept(). Asked,
                # not guessed from recv's errno, which differs by family
                # (ENOTCONN for TCP, EINVAL for AF_UNIX).
                waiting = 1
            elif _PEEK_MAY_WAIT and not select.select([sock], [], [], 0)[0]:
                return 0  # read since the poller looked: nothing to report or park
            else:
                try:
                    waiting = len(sock.recv(1, _PEEK))
                except BlockingIOError:
                    return 0  # read since the poller looked: nothing to report or park
                except OSError:
                    # e.g. ENOTCONN: a socket never connected, which epoll reports as HUP
                    return self._READY_ERROR
        except OSError:
            # An fd that cannot be looked into (an eventfd has no FIONREAD):
            # readable is data, not an error; parked, so that it cannot spin.
            waiting = 1
        finally:
            if sock is not None:
                sock.detach()
        if not waiting:
            return self._READY_ERROR  # end of file: the peer hung up
        self._selector.unregister(fd)
        self._parked.add(fd)
        return 0

    def _drop_closed(self) -> None:
        for fd in list(self._kmask):
            try:
                _platform.check_watchable(fd)
            except OSError as exc:
                self._drop_fd(fd, exc)
