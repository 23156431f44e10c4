"""Test doubles of ``select.kqueue``/``select.kevent`` and ``select.devpoll``.

kqueue (macOS, the BSDs) and /dev/poll (Solaris, illumos) do not exist on the
Linux machines that run this project's tests. These doubles implement the two
interfaces as the Python documentation defines them (``select`` module: "Kqueue
Objects", "Kevent Objects", "/dev/poll Polling Objects"), with the kernel
semantics of kqueue(2) and poll(7d), over Linux's epoll and poll, so that the
real :class:`KqueueRegistrar` and :class:`DevpollRegistrar` run unchanged with
only their ``_select`` module substituted.

What the kqueue double keeps from the kernel:

* one knote per (ident, filter), EVFILT_READ and EVFILT_WRITE; EV_ADD creates or
  updates one (an update changes fflags/data/udata, never EV_CLEAR/EV_ONESHOT,
  as FreeBSD's kqueue_register), EV_DELETE removes it: EBADF for an fd that is
  not open, ENOENT for a knote that does not exist;
* a change that fails goes to the event list as EV_ERROR (data = errno) while
  there is room (and the call returns without waiting), else raises OSError
  and the changes after it are not applied;
* level triggering, EV_CLEAR as edge triggering (epoll's EPOLLET), EV_ONESHOT;
* EV_EOF on the read filter at a peer's close (EPOLLRDHUP/HUP/ERR) and on the
  write filter when nothing more can be sent (EPOLLHUP/ERR); ``data`` of a
  read event is the byte count waiting (FIONREAD);
* close() of an fd removes its knotes (epoll forgets closed files, and a stale
  entry of ours is noticed because epoll refuses to modify it).
Not emulated: other filters, EV_ENABLE/EV_DISABLE (OSError EINVAL).

The devpoll double keeps: registering an fd twice ORs the masks, ``modify``
replaces, ``unregister`` of an unknown fd is ignored, a closed fd is reported
as POLLNVAL, timeouts in milliseconds, at most RLIMIT_NOFILE fds per poll.
"""

from __future__ import annotations

import errno
import fcntl
import importlib
import importlib.util
import os
import resource
import select
import termios
import time
import types
from typing import Any, Dict, List, Optional, Tuple

# -- kqueue ---------------------------------------------------------------------------
KQ_FILTER_READ, KQ_FILTER_WRITE, KQ_FILTER_AIO, KQ_FILTER_VNODE = -1, -2, -3, -4
KQ_FILTER_PROC, KQ_FILTER_SIGNAL, KQ_FILTER_TIMER = -5, -6, -7
KQ_EV_ADD, KQ_EV_DELETE, KQ_EV_ENABLE, KQ_EV_DISABLE = 0x1, 0x2, 0x4, 0x8
KQ_EV_ONESHOT, KQ_EV_CLEAR = 0x10, 0x20
KQ_EV_SYSFLAGS, KQ_EV_FLAG1, KQ_EV_ERROR, KQ_EV_EOF = 0xF000, 0x2000, 0x4000, 0x8000
_KEPT = KQ_EV_CLEAR | KQ_EV_ONESHOT  # flags a knote keeps from its creation


def _fileno(obj: Any) -> int:
    fd = obj if isinstance(obj, int) else obj.fileno()
    if fd < 0:
        raise ValueError("file descriptor cannot be a negative integer (%d)" % fd)
    return fd


class kevent:  # noqa: N801 - the name select gives it
    """``select.kevent(ident, filter=KQ_FILTER_READ, flags=KQ_EV_ADD, fflags=0, data=0, udata=0)``."""

    __slots__ = ("ident", "filter", "flags", "fflags", "data", "udata")

    def __init__(self, ident: Any, filter: int = KQ_FILTER_READ, flags: int = KQ_EV_ADD,
                 fflags: int = 0, data: int = 0, udata: int = 0) -> None:
        self.ident = _fileno(ident)
        self.filter, self.flags, self.fflags, self.data, self.udata = filter, flags, fflags, data, udata

    def _key(self) -> Tuple[int, ...]:
        return (self.ident, self.filter, self.flags, self.fflags, self.data, self.udata)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, kevent) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return ("<select.kevent ident=%d filter=%d flags=0x%x fflags=0x%x data=0x%x udata=0x%x>"
                % self._key())


class kqueue:  # noqa: N801
    """``select.kqueue()``: knotes kept in two epolls (read, write) under a third."""

    def __init__(self) -> None:
        self._outer = select.epoll()
        self._inner = {KQ_FILTER_READ: select.epoll(), KQ_FILTER_WRITE: select.epoll()}
        for ep in self._inner.values():
            self._outer.register(ep.fileno(), select.EPOLLIN)
        self._knotes: Dict[Tuple[int, int], kevent] = {}  # {(ident, filter): knote as added}

    @property
    def closed(self) -> bool:
        return self._outer.closed

    def fileno(self) -> int:
        self._check()
        return self._outer.fileno()

    def close(self) -> None:
        for ep in (*self._inner.values(), self._outer):
            ep.close()
        self._knotes.clear()

    def _check(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed kqueue object")

    def control(self, changelist: Optional[List[kevent]], max_events: int,
                timeout: Optional[float] = None) -> List[kevent]:
        """Apply ``changelist`` in order, then return up to ``max_events`` events."""
        self._check()
        if max_events < 0:
            raise ValueError("Length of eventlist must be 0 or positive, got %d" % max_events)
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be positive or None")
        errors = []
        for change in changelist or ():
            try:
                self._apply(change)
            except OSError as exc:
                if len(errors) >= max_events:
                    raise
                errors.append(kevent(change.ident, change.filter, KQ_EV_ERROR, 0, exc.errno or 0,
                                     change.udata))
        if errors or not max_events:
            return errors
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:  # as the kernel: return when something is ready or at the deadline
            remaining = -1.0 if deadline is None else max(deadline - time.monotonic(), 0.0)
            self._outer.poll(remaining)
            events: List[kevent] = []
            for filt, ep in self._inner.items():
                if len(events) < max_events:
                    for fd, bits in ep.poll(0, max_events - len(events)):
                        events.append(self._event(fd, filt, bits))
            if events or remaining == 0.0:
                return events

    def _apply(self, change: kevent) -> None:
        fd, filt, flags = change.ident, change.filter, change.flags
        ep = self._inner.get(filt)
        if ep is None or flags & (KQ_EV_ENABLE | KQ_EV_DISABLE):
            raise OSError(errno.EINVAL, "not emulated by the kqueue double: filter %d flags 0x%x"
                          % (filt, flags))
        os.fstat(fd)  # EBADF first, as the kernel
        key = (fd, filt)
        old = self._knotes.get(key)
        if flags & KQ_EV_DELETE:
            if old is None:
                raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))
            del self._knotes[key]
            try:
                ep.unregister(fd)
            except FileNotFoundError:  # ours was stale: the fd was closed since
                raise OSError(errno.ENOENT, os.strerror(errno.ENOENT)) from None
        elif flags & KQ_EV_ADD:
            kept = (old.flags if old is not None else flags) & _KEPT
            bits = (select.EPOLLIN | select.EPOLLRDHUP if filt == KQ_FILTER_READ else select.EPOLLOUT)
            bits |= (select.EPOLLET if kept & KQ_EV_CLEAR else 0) | (
                select.EPOLLONESHOT if kept & KQ_EV_ONESHOT else 0)
            try:
                ep.modify(fd, bits) if old is not None else ep.register(fd, bits)
            except FileNotFoundError:  # stale: the fd was closed and reused; a new knote
                kept = flags & _KEPT
                ep.register(fd, bits)
            except FileExistsError:  # a dup of a file we watched lives on under this number
                ep.modify(fd, bits)
            self._knotes[key] = kevent(fd, filt, kept, change.fflags, change.data, change.udata)

    def _event(self, fd: int, filt: int, bits: int) -> kevent:
        knote = self._knotes.get((fd, filt)) or kevent(fd, filt, 0)
        flags = knote.flags & _KEPT
        if filt == KQ_FILTER_READ:
            eof = bits & (select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR)
            data = _bytes_waiting(fd)
        else:
            eof = bits & (select.EPOLLHUP | select.EPOLLERR)
            data = 0
        if flags & KQ_EV_ONESHOT:
            self._knotes.pop((fd, filt), None)
            self._inner[filt].unregister(fd)
        return kevent(fd, filt, flags | (KQ_EV_EOF if eof else 0), 0, data, knote.udata)


def _bytes_waiting(fd: int) -> int:
    try:
        return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), "little", signed=True)
    except OSError:
        return 0


kqueue_module = types.ModuleType("select", "The kqueue double's select module.")
kqueue_module.__dict__.update({k: v for k, v in globals().items() if k.startswith("KQ_")})
kqueue_module.__dict__.update(kqueue=kqueue, kevent=kevent, error=OSError)


# -- /dev/poll ------------------------------------------------------------------------
class devpoll:  # noqa: N801
    """``select.devpoll()``: /dev/poll's table, over ``select.poll``."""

    def __init__(self) -> None:
        self._poll = select.poll()
        self._masks: Dict[int, int] = {}  # {fd: events}
        self._max = resource.getrlimit(resource.RLIMIT_NOFILE)[0]  # sized at creation
        self._fd: Optional[int] = os.open(os.devnull, os.O_RDONLY)  # stands for /dev/poll's fd

    @property
    def closed(self) -> bool:
        return self._fd is None

    def fileno(self) -> int:
        self._check()
        return self._fd  # type: ignore[return-value]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _check(self) -> None:
        if self._fd is None:
            raise ValueError("I/O operation on closed devpoll object")

    def register(self, fd: Any, eventmask: int = select.POLLIN | select.POLLPRI | select.POLLOUT) -> None:
        """Add ``fd``; an fd already there gets the OR of both masks (/dev/poll's write)."""
        self._check()
        fd = _fileno(fd)
        self._masks[fd] = self._masks.get(fd, 0) | eventmask
        self._poll.register(fd, self._masks[fd])

    def modify(self, fd: Any, eventmask: int) -> None:
        """POLLREMOVE then add: the mask is replaced."""
        self._check()
        self.unregister(fd)
        self.register(fd, eventmask)

    def unregister(self, fd: Any) -> None:
        """Remove ``fd``; an fd never registered is ignored."""
        self._check()
        fd = _fileno(fd)
        if self._masks.pop(fd, None) is not None:
            self._poll.unregister(fd)

    def poll(self, timeout: Optional[float] = None) -> List[Tuple[int, int]]:
        """Wait up to ``timeout`` ms (None or -1: forever); at most RLIMIT_NOFILE fds."""
        self._check()
        if timeout is not None and timeout < 0 and timeout != -1:
            raise ValueError("Timeout value must be -1, None or a non-negative number")
        return self._poll.poll(-1 if timeout is None else timeout)[: self._max]


devpoll_module = types.ModuleType("select", "The devpoll double's select module.")
devpoll_module.__dict__.update({k: getattr(select, k) for k in dir(select) if k.startswith("POLL")})
devpoll_module.__dict__.update(devpoll=devpoll, error=OSError)


# -- the registrars over them -----------------------------------------------------------
def registrar_class(module: str, cls_name: str) -> Any:
    """The real registrar class, even where its module refuses to import.

    Each registrar module raises ImportError at its last line when the kernel
    call is missing; its code is run here into a private module object, which
    keeps the class defined above that line.
    """
    try:
        return getattr(importlib.import_module("rel_registrars." + module), cls_name)
    except ImportError:
        pass
    spec = importlib.util.find_spec("rel_registrars." + module)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except ImportError:
        pass
    return getattr(mod, cls_name)


class KqueueDoubleRegistrar(registrar_class("kqueue", "KqueueRegistrar")):  # type: ignore[misc]
    """The real KqueueRegistrar over the kqueue double."""

    name = "kqueue-double"
    _select = kqueue_module


class DevpollDoubleRegistrar(registrar_class("devpoll", "DevpollRegistrar")):  # type: ignore[misc]
    """The real DevpollRegistrar over the devpoll double."""

    name = "devpoll-double"
    _select = devpoll_module
