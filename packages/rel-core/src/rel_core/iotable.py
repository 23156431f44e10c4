"""The I/O tables: which watcher watches which fd, and what the poller was told.

:class:`IOTable` is the part of :class:`~rel_core.registrar.Registrar` that
keeps, for every fd, its three watcher slots (reader, writer, error watcher)
and the interest mask the poller holds, and the one function that brings the
poller in line with the slots (``_sync_fd``). The poller primitive it calls
is what a subclass supplies (see registrar.py's docstring).

State (on the registrar, read by its loop without a call):

* ``_io``: ``{fd: [reader, writer, error watcher]}`` (None where there is none);
* ``_kmask``: ``{fd: interest mask given to the poller}``;
* ``_io_count``: armed user I/O watchers (the loop's own are ``internal``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .calls import Call, LoopThread, _get_ident, loop_thread_only
from .listener import SocketIO, Timer, check_open
from .logs import logger


def _slot_key(args: Tuple[Any, ...]) -> Tuple[int, int]:
    (w,) = args
    return (w.fd, w.kind)


def _fold_io(queued: Call, new: Call) -> Optional[Call]:
    """Fold ``new``, an arm or a delete of a watcher queued from another
    thread, into ``queued``, the call queued before it for the same fd and
    kind (calls.py), or None where they must stay two calls.

    A slot holds one watcher, and an arm replaces whatever it held: after an
    arm nothing before it counts. A delete of ``w`` after...

    * an arm of ``w``: the slot ends empty (``_clear_slot``, which costs no
      poller call if it was empty already);
    * an arm of another watcher: nothing (``w`` was replaced, if it was armed);
    * a clear: nothing (the slot is empty already);
    * a delete of ``w``: nothing; of another watcher: a second call."""
    method, (w,) = new
    if method is not IOTable._disarm_now:
        return new
    before, args = queued
    if before is IOTable._clear_slot:
        return queued
    (v,) = args
    if before is IOTable._disarm_now:
        return queued if v is w else None
    return (IOTable._clear_slot, (w.fd, w.kind)) if v is w else queued


class IOTable(LoopThread):
    """The fd tables and the poller primitive (see the module docstring)."""

    _WANT_READ = 1
    _WANT_WRITE = 2
    _WANT_ERROR = 4
    _io: Dict[int, List[Optional[SocketIO]]]
    _kmask: Dict[int, int]
    _io_count: int
    _want_bits: Tuple[int, int, int]  # (_WANT_READ, _WANT_WRITE, _WANT_ERROR), by slot index

    # -- poller primitive: provided by subclasses ---------------------------------
    def _poller_open(self) -> None:
        raise NotImplementedError

    def _poller_close(self) -> None:
        raise NotImplementedError

    def _poller_register(self, fd: int, mask: int) -> None:
        raise NotImplementedError

    def _poller_modify(self, fd: int, mask: int) -> None:
        raise NotImplementedError

    def _poller_unregister(self, fd: int) -> None:
        raise NotImplementedError

    def _poller_wait(self, timeout: Optional[float]) -> List[Tuple[Any, int]]:
        raise NotImplementedError

    #: arming and disarming from the loop's own thread may take the direct
    #: paths of :meth:`_arm_io` and :meth:`_disarm_io`; debug mode sets this
    #: false on its instance, so that every arm passes its ``_arm_io_here``
    _direct_io = True

    # -- I/O tables -------------------------------------------------------------------
    def _arm_io(self, w: SocketIO) -> None:
        fd = w.fd
        slot = self._io.get(fd)
        if slot is None:
            if fd not in self._kmask:
                check_open(fd)  # in the caller's thread, so the error reaches the caller
        elif slot[w.kind] is None and not w.active and self._owner == _get_ident() and self._direct_io:
            # The case a server's every request takes, twice: from a callback,
            # a watcher joins the others of its own socket object on an fd the
            # poller knows (reading off, writing on). Nothing can be stale then
            # and nothing is replaced, so of _arm_io_here, _put_io and _sync_fd
            # only the poller's call and the bookkeeping are left.
            sock = w.sock
            reader, writer, errwatch = slot
            old = self._kmask.get(fd)
            if (old is not None and (reader is None or reader.sock is sock)
                    and (writer is None or writer.sock is sock)
                    and (errwatch is None or errwatch.sock is sock)):
                mask = old | self._want_bits[w.kind]  # kmask is the union of the slot's wants
                if mask != old:
                    try:
                        self._poller_modify(fd, mask)
                    except OSError:  # closed under us: the full path sorts it out
                        return self._arm_io_here(w)
                    self._kmask[fd] = mask
                slot[w.kind] = w
                w.active = True
                if not w.internal:
                    self._io_count += 1
                return
        self._arm_io_here(w)

    @loop_thread_only(key=_slot_key, fold=_fold_io)
    def _arm_io_here(self, w: SocketIO) -> None:
        fd = w.fd
        slot = self._io.get(fd)
        if slot is not None:
            if slot[w.kind] is not None and slot[w.kind] is not w:
                # A new watcher replaces one of its kind, so the poller would not be
                # told. But the fd may have been closed and its number reused: epoll
                # and kqueue forget a closed file without a word, and would then never
                # report the new one. Register the fd afresh (rare: two calls).
                self._unregister_quietly(fd)
            elif self._drop_stale(fd, slot, w):
                self._unregister_quietly(fd)  # the poller's interest was the old file's
        try:
            self._put_io(w)
        except OSError as exc:
            if fd not in self._kmask:
                if fd in self._io:  # the watchers left on a number that fails now are stale
                    self._drop_fd(fd, exc)
                raise
            # The poller refused an fd we had registered: its number was closed
            # and (maybe) reused by a new file. The old watchers are stale.
            self._drop_fd(fd, exc)
            self._put_io(w)

    def _put_io(self, w: SocketIO) -> None:
        """Arm ``w`` in the tables and the poller, or raise and change nothing."""
        fd = w.fd
        slot = self._io.get(fd)
        if slot is None:
            slot = self._io[fd] = [None, None, None]
        old = slot[w.kind]
        if old is w and w.active:
            return
        if old is not None and old is not w:  # one watcher per kind and fd: the newest wins (as rel)
            self._set_active(old, False)
        slot[w.kind] = w
        self._set_active(w, True)
        try:
            self._sync_fd(fd, slot)
        except OSError:
            self._set_active(w, False)
            slot[w.kind] = old
            if old is not None and old is not w:
                self._set_active(old, True)
            if slot == [None, None, None]:
                del self._io[fd]
            raise

    def _set_active(self, w: SocketIO, active: bool) -> None:
        if w.active != active:
            w.active = active
            if not w.internal:
                self._io_count += 1 if active else -1

    def _disarm_io(self, w: SocketIO) -> None:
        # From the loop's own thread (a callback, the loop itself) at once,
        # without the wrapper: what loop_thread_only would decide anyway.
        if self._owner == _get_ident():
            self._disarm_now(w)
        else:
            self._disarm_io_elsewhere(w)

    def _disarm_now(self, w: SocketIO) -> None:
        if not w.active:
            return
        w.active = False
        if not w.internal:
            self._io_count -= 1
        fd = w.fd
        slot = self._io.get(fd)
        if slot is None or slot[w.kind] is not w:
            return
        kind = w.kind
        slot[kind] = None
        old = self._kmask.get(fd)
        try:
            if old is not None and (slot[0] is not None or slot[1] is not None
                                    or slot[2] is not None):
                # Others stay on the fd: take just this kind's bit away (the
                # _WANT_ bits are distinct). Unregistering is _sync_fd's.
                mask = old & ~self._want_bits[kind]
                if mask != old:
                    self._poller_modify(fd, mask)
                    self._kmask[fd] = mask
            else:
                self._sync_fd(fd, slot)
        except OSError as exc:
            self._drop_fd(fd, exc)

    _disarm_io_elsewhere = loop_thread_only(_disarm_now, forward_as="_disarm_io",
                                            key=_slot_key, fold=_fold_io)

    def _clear_slot(self, fd: int, kind: int) -> None:
        """What an arm then a delete of one watcher, queued from another
        thread, come to (``_fold_io``): the watcher the arm would have
        replaced is disarmed, and nothing is armed."""
        slot = self._io.get(fd)
        if slot is not None:
            w = slot[kind]
            if w is not None:
                self._disarm_now(w)

    def _sync_fd(self, fd: int, slot: List[Optional[SocketIO]]) -> None:
        """Bring the poller's interest in ``fd`` in line with its watchers."""
        reader, writer, errwatch = slot
        old = self._kmask.get(fd)
        if reader is None and writer is None and errwatch is None:
            del self._io[fd]
            if old is not None:
                del self._kmask[fd]
                try:
                    self._poller_unregister(fd)
                except (OSError, KeyError, ValueError):
                    pass  # closed while registered: the kernel forgot it already
            return
        mask = ((self._WANT_READ if reader is not None else 0)
                | (self._WANT_WRITE if writer is not None else 0)
                | (self._WANT_ERROR if errwatch is not None else 0))
        if old is None:
            self._poller_register(fd, mask)
            self._kmask[fd] = mask
        elif old != mask:
            self._poller_modify(fd, mask)
            self._kmask[fd] = mask

    def _unregister_quietly(self, fd: int) -> None:
        if self._kmask.pop(fd, None) is not None:
            try:
                self._poller_unregister(fd)
            except (OSError, KeyError, ValueError):
                pass  # closed while registered: the kernel forgot it already

    def _drop_stale(self, fd: int, slot: List[Optional[SocketIO]], new: SocketIO) -> bool:
        """Disarm the watchers of ``slot`` whose socket object was closed: the
        number ``fd`` now belongs to another file (``new``'s). poll and select
        key by number, so without this an old reader would fire for the new
        file's data. A watcher given an int fd cannot be told apart: delete
        watchers before closing their fds. True if any was dropped."""
        dropped = []
        for kind, old in enumerate(slot):
            if old is not None and old is not new and old.sock is not new.sock and closed_under(old):
                slot[kind] = None
                dropped.append(old)
        self._forget(fd, dropped, "its socket was closed and the number reused")
        return bool(dropped)

    def _drop_fd(self, fd: int, reason: Any) -> None:
        """Forget ``fd`` (closed while registered): its watchers are disarmed."""
        slot = self._io.pop(fd, None)
        self._unregister_quietly(fd)
        self._forget(fd, slot or (), reason)

    def _forget(self, fd: int, watchers: Any, reason: Any) -> None:
        """Disarm ``watchers``, dropped because ``fd`` was closed under them:
        each is logged, and its ``ondrop`` hook runs from a zero-delay timer
        (in the loop, never inside the call that found out)."""
        for w in watchers:
            if w is not None and w.active:
                self._set_active(w, False)
                logger.warning("rel: dropped %r: fd %d was closed while registered (%s)",
                               w, fd, reason)
                if w.ondrop is not None:
                    Timer(self, 0, w.ondrop)  # type: ignore[arg-type]

    def _audit_fds(self) -> None:
        """Drop the watchers whose fd was closed while registered. The loop
        calls this after a silent IDLE_AUDIT-long wait with no timer armed, for
        pollers that forget a closed fd without a word (epoll, kqueue): it is
        how dispatch() learns that nothing is left to wait for."""
        for fd, slot in list(self._io.items()):
            if any(w is not None and w.internal for w in slot):
                continue
            if any(w is not None and closed_under(w) for w in slot) or not is_open(fd):
                self._drop_fd(fd, "found closed by the idle audit")


def closed_under(w: SocketIO) -> bool:
    """Whether ``w``'s socket object (not an int fd) was closed, or now has
    another number: a check without a system call."""
    sock = w.sock
    if isinstance(sock, int):
        return False
    try:
        return bool(sock.fileno() != w.fd)
    except (OSError, ValueError):  # io objects raise once closed
        return True


def is_open(fd: int) -> bool:
    try:
        check_open(fd)
    except OSError:
        return False
    return True
