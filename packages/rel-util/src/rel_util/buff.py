"""BuffWriter: buffered non-blocking writes through rel's event loop.

``buffwrite(sock, data, sender, onerror)`` queues ``data`` for ``sock`` and
returns at once; the loop then pushes it out with ``sender(sock, chunk)``
each time ``sock`` is writable. websocket-client sends every frame this way
when it runs with ``dispatcher=rel``, so this module is on the hot path of
rel's largest group of users.

The contract:

* One writer per socket (the socket object is the key); data goes out in the
  order it was queued, from whichever threads it came.
* ``sender(sock, chunk)`` is called with a ``memoryview`` of at most
  :data:`CHUNK` bytes and returns how many it sent, as ``socket.send`` does
  (``None`` counts as "all of it"). It may send part of a chunk: the rest is
  sent next, nothing is lost or reordered. ``BlockingIOError``,
  ``InterruptedError`` (or an ``OSError`` with errno ``EAGAIN``,
  ``EWOULDBLOCK`` or ``EINTR``) and SSL's want-read/want-write
  (``ssl.SSLWantReadError``/``SSLWantWriteError``, or an ``ssl.SSLError``
  whose errno is ``SSL_ERROR_WANT_READ``/``SSL_ERROR_WANT_WRITE``) mean
  "nothing sent, try again when writable".
* TLS: on a non-blocking ``ssl.SSLSocket``, a send that raised want-write
  may have handed part of the chunk to OpenSSL already, which then requires
  the retry to offer the same bytes (CPython sets
  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, so they may move; a shorter buffer
  is OpenSSL's "bad length" error, other bytes would be sent silently). The
  writer does: after "try again" it offers the same chunk (the same view of
  the same data, from the same position), whatever was queued meanwhile.
  A want-read on a write (TLS renegotiation, a handshake left to the first
  write) is retried each time the socket is writable, which it is at once:
  the retries spin until the peer's bytes arrive.
* Cost: O(N) for N bytes. Chunks are memoryview slices of the caller's data
  (an O(1) view, never a copy of the rest). ``bytes`` and read-only buffers
  are queued as they are; a ``str`` is encoded to UTF-8 and a mutable buffer
  (``bytearray``, writable ``memoryview``) is copied once, so the caller may
  reuse it at once. That is the only copy.
* Any other exception from the sender is a failure (a broken connection
  wakes the write watcher, and the send raises the socket's error):
  ``onerror(msg)`` runs once, with the socket's own error text
  (``"write error: [Errno 104] Connection reset by peer"``), the queued data
  is dropped and the writer holds nothing; later writes to that socket are
  dropped (logged) until :func:`release_buff`, so one broken connection is
  reported once. A socket closed before or while data is queued is reported
  the same way at the next write, never by an exception; and if no write
  comes, when the engine finds the fd closed under the watcher (rel-core's
  ``SocketIO.ondrop``: at once on poll and select, after an idle wait of
  ``IDLE_AUDIT`` on epoll, kqueue and selectors): the data is dropped then.
* ``onerror`` always runs in the loop's thread, from a callback: never inside
  ``buffwrite`` (a failure found there is delivered by ``rel.timeout(0)``).
  Its return value is ignored.
* :func:`release_buff` drops the writer, its data and its watcher; the next
  :func:`buffwrite` on that socket starts a new writer.
* ``rel.abort()`` and ``rel.init()`` delete the writer's watcher like every
  other I/O watcher; its data stays queued and goes out once the next
  ``buffwrite`` on that socket arms it again (as rel 0.4.9.27).

Threads: ``buffwrite`` may be called from any thread while the loop runs
(websocket-client users call ``app.send()`` from their own threads). The
writer's queue is guarded by a lock, and the sender runs in the loop's
thread: from the write watcher, which exists only while data is queued, or
on the fast path. The fast path: ``buffwrite`` called from the loop's own
thread (inside a callback, while ``dispatch()`` runs) with nothing queued
hands a payload of up to :data:`CHUNK` bytes to the sender at once and
queues what it did not take. That saves a trip through the poller per
message (about 2.5x more round trips per second) and gets a frame out even if
the socket is closed before the loop runs again (websocket-client's close
frame). rel-core does not say which thread runs the loop, so the writer
takes the thread that last ran its watcher's callback; until then,
every write goes through the watcher.

Blocking sockets: the sender decides how to write. websocket-client leaves
its socket in blocking mode, so one sender call may wait until the kernel has
taken the whole chunk. :data:`CHUNK` bounds that wait, and the watcher sends
only after the poller said "writable". A non-blocking socket (timeout 0)
never waits: it takes what fits, and the rest waits in the queue.

The watcher: while data is queued, one ``write`` watcher on the socket's fd,
deleted when the queue empties. Every registrar wakes write watchers on an
error or hang-up (POLLERR/POLLHUP, kqueue's EOF on the write filter), and the
sender then raises the socket's own error, so no ``error()`` watcher is used:
one would hear a peer's half-close (POLLRDHUP), which is no reason to stop
writing, and would replace an ``error()`` watcher of the application's own
(rel keeps one watcher per kind and fd).

Writers are kept per socket object in a ``WeakKeyDictionary`` when the
socket supports weak references (``socket.socket`` and ``ssl.SSLSocket``
do): an idle writer does not keep its socket alive, so sockets dropped
without :func:`release_buff` (websocket-client never calls it, and makes a
new socket at each reconnect) do not pile up. While data is queued the
writer holds the socket, so the data is not lost. A key that cannot be
weakly referenced (an int fd) is held until :func:`release_buff`.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import weakref
from errno import EAGAIN, EBADF, EINTR, EWOULDBLOCK
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, MutableMapping, Optional

import rel_core as rel
from rel_core.logs import Basic, log, logger

if TYPE_CHECKING:  # pragma: no cover
    from rel_core.listener import SocketIO

__all__ = ["BuffWriter", "buffwrite", "release_buff", "writer_of", "CHUNK", "BURST"]

#: Most bytes handed to the sender in one call. Big enough that per-call
#: overhead vanishes (64 MiB is 256 calls), small enough that one call on a
#: blocking socket (websocket-client leaves its socket blocking) waits for
#: little more than the kernel had room for when it said "writable".
CHUNK = 256 * 1024
#: Most bytes one write event sends (while the sender keeps taking whole
#: chunks) before the loop gets to run other callbacks.
BURST = 4 * CHUNK

Sender = Callable[[Any, memoryview], Optional[int]]
OnError = Callable[[str], Any]

# The thread that last ran one of our watcher callbacks: the loop's thread.
# Used only to choose the fast path (see the module docstring).
_loop_thread: Optional[int] = None
_get_ident = threading.get_ident


def _default_send(sock: Any, chunk: memoryview) -> int:
    if isinstance(sock, int):
        return os.write(sock, chunk)
    return sock.send(chunk)


def _default_onerror(msg: str) -> None:
    logger.warning("rel: buffwrite failed (no onerror given): %s", msg)


def _fileno(sock: Any) -> int:
    if isinstance(sock, int):
        return sock
    try:
        return sock.fileno()
    except (OSError, ValueError):
        return -1


# errnos of "try again" (an OSError made without the constructor's mapping to
# BlockingIOError/InterruptedError, as some wrappers raise them)
_AGAIN = frozenset((EAGAIN, EWOULDBLOCK, EINTR))


def _would_block(exc: BaseException) -> bool:
    """Whether the sender's exception means "nothing sent yet, not an error":
    would-block and interrupted, and SSL's want-read and want-write, as their
    own classes or as an ``ssl.SSLError`` carrying OpenSSL's code."""
    if isinstance(exc, (BlockingIOError, InterruptedError)):
        return True
    ssl = sys.modules.get("ssl")  # no SSL socket exists unless ssl is imported
    if ssl is not None and isinstance(exc, ssl.SSLError):
        # An SSLError's errno is OpenSSL's SSL_ERROR_* code, not errno's.
        return isinstance(exc, (ssl.SSLWantWriteError, ssl.SSLWantReadError)) or (
            exc.errno in (ssl.SSL_ERROR_WANT_WRITE, ssl.SSL_ERROR_WANT_READ))
    return isinstance(exc, OSError) and exc.errno in _AGAIN


def _as_view(data: Any) -> memoryview:
    """``data`` as a read-only byte view the caller cannot change under us."""
    if isinstance(data, bytes):
        return memoryview(data)
    if isinstance(data, str):
        return memoryview(data.encode("utf-8"))
    view = memoryview(data)  # TypeError for what is not bytes-like
    if not view.readonly:
        return memoryview(view.tobytes())
    if not view.c_contiguous:
        return memoryview(view.tobytes())
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _deliver(onerror: OnError, msg: str) -> None:
    onerror(msg)  # returns None, so the timer that runs it is not re-armed


class BuffWriter(Basic):
    """The queue of one socket's pending writes (see the module docstring).

    ``BuffWriter(sock, data, sender, onerror)`` as in rel 0.4.9.27; most code
    calls :func:`buffwrite` instead, which keeps one writer per socket.

    Attributes: ``queued`` (bytes waiting), ``error`` (the failure message,
    None while the writer works), ``sock``, ``fd``.
    """

    def __init__(self, sock: Any, data: Any = None, sender: Optional[Sender] = None,
                 onerror: Optional[OnError] = None) -> None:
        self.fd = _fileno(sock)
        self.subname = self.fd
        self._sockref: Optional[Callable[[], Any]]
        try:
            self._sockref = weakref.ref(sock)
        except TypeError:
            self._sockref = lambda: sock
        self._sock: Any = None  # the socket, held only while data is queued
        self._sender: Optional[Sender] = sender or _default_send
        self._onerror: Optional[OnError] = onerror or _default_onerror
        self._lock = threading.Lock()
        # Guarded by _lock:
        self._queue: Deque[memoryview] = collections.deque()  # [view], oldest first
        self._pos = 0  # bytes of _queue[0] already sent
        self.queued = 0  # bytes waiting, in all of _queue
        self._armed = False  # our watcher is (being) armed
        self._inflight = False  # a fast-path send runs (in the loop's thread)
        self._released = False
        self.error: Optional[str] = None
        self._writer: Optional[SocketIO] = None
        if data is not None:
            self.ingest(data)

    @property
    def sock(self) -> Any:
        """The socket (None once it was garbage collected)."""
        return self._sockref() if self._sockref is not None else None

    def __repr__(self) -> str:
        state = "failed" if self.error else "released" if self._released else "ok"
        return "<BuffWriter fd %d | %s | %d bytes queued>" % (self.fd, state, self.queued)

    # -- queueing (any thread) ----------------------------------------------------------
    def ingest(self, data: Any, sock: Any = None) -> bool:
        """Queue ``data`` (bytes-like or str) to be sent after what is queued.

        Returns False only if the writer was released (the data was not
        taken); a failed writer takes and drops it. Raises TypeError for data
        that is not bytes-like. Never raises for socket trouble: that goes to
        ``onerror``.
        """
        view = _as_view(data)
        nbytes = view.nbytes
        if not nbytes:
            return not self._released
        if sock is None:
            sock = self.sock
        fast = False
        msg = None
        with self._lock:
            if self._released:
                return False
            if self.error is not None:
                self.log("dropped %d bytes: the writer failed (%s)" % (nbytes, self.error))
                return True
            if sock is None or self.fd < 0 or _fileno(sock) != self.fd:
                msg = "write error: [Errno %d] %s (the socket is closed)" % (EBADF, os.strerror(EBADF))
            elif self._armed or self._inflight:
                self._queue.append(view)  # whoever is sending will get to it
                self.queued += nbytes
                if self._inflight or self._writer.pending():  # type: ignore[union-attr]
                    return True
                # rel.abort() or rel.init() deleted our watcher: arm it again
                # (from another thread, one may just not be applied yet: harmless).
                self._sock = sock
                msg = self._arm()
            elif nbytes <= CHUNK and _loop_thread == _get_ident() and rel.is_running():
                self._inflight = fast = True
            else:
                self._queue.append(view)
                self.queued += nbytes
                self._sock = sock
                msg = self._arm()
        if msg is not None:
            self._fail(msg, in_loop=False)
        elif fast:
            self._send_now(sock, view, nbytes)
        return True

    def _send_now(self, sock: Any, view: memoryview, nbytes: int) -> None:
        """The fast path: from the loop's thread with nothing queued, send a
        small payload at once; queue the rest and arm the watcher for it.
        Anything ``buffwrite`` meanwhile in other threads was queued behind."""
        try:
            n = self._sender(sock, view)  # type: ignore[misc]
        except Exception as exc:
            if not _would_block(exc):
                self._fail("write error: %s" % (exc,), in_loop=False)
                return
            n = 0
        if n is None:
            n = nbytes
        elif not 0 <= n <= nbytes:
            self._fail("write error: sender returned %r for a %d-byte chunk" % (n, nbytes), in_loop=False)
            return
        msg = None
        with self._lock:
            self._inflight = False
            if self.error is not None or self._released:
                return
            if n < nbytes:
                self._queue.appendleft(view[n:])
                self.queued += nbytes - n
            if self._queue:
                self._sock = sock
                msg = self._arm()
        if msg is not None:
            self._fail(msg, in_loop=False)

    # -- the watcher (the loop's thread) ---------------------------------------------
    def _arm(self) -> Optional[str]:
        """Arm the write watcher (under the lock). Returns an error message if
        the socket cannot be watched."""
        # Armed before the watcher is: from another thread, the loop may apply
        # the add() and run _on_write before add() even returns here, and
        # _on_write takes a writer that is not armed for a late event.
        self._armed = True
        try:
            if self._writer is None:
                self._writer = rel.write(self.fd, self._on_write)
                self._writer.ondrop = self._on_dropped
            else:
                self._writer.add()
        except (OSError, ValueError) as exc:
            self._armed = False
            return "write error: %s" % (exc,)
        return None

    def _disarm(self) -> None:
        """Delete the watcher (under the lock)."""
        self._armed = False
        self._sock = None
        if self._writer is not None:
            self._writer.delete()

    def _on_write(self) -> bool:
        """The write watcher's callback: writable, or an error to meet."""
        global _loop_thread
        _loop_thread = _get_ident()
        if not self._armed:
            return False  # a late event after release or failure
        self._pump(in_loop=True)
        return self._settle()

    def _on_dropped(self) -> None:
        """The engine dropped our watcher: the fd was closed while registered
        (the application closed the socket with data queued). Report it once
        and let the data go (from a timer, in the loop's thread)."""
        self._fail("write error: [Errno %d] %s (the socket was closed while data was queued)"
                   % (EBADF, os.strerror(EBADF)), in_loop=True)

    def _settle(self) -> bool:
        """After a pump in a callback: delete the watcher if all was sent."""
        with self._lock:
            if self._armed and not self._queue:
                self._disarm()
            return self._armed

    # -- sending (one thread at a time: the loop's, or the fast path's) ----------------
    def _pump(self, in_loop: bool) -> None:
        """Send from the head of the queue until the sender takes less than a
        whole chunk, the queue is empty, or BURST bytes went."""
        sent_total = 0
        lock = self._lock
        while sent_total < BURST:
            with lock:
                if not self._queue or self._released or self.error is not None:
                    break
                head = self._queue[0]
                pos = self._pos
                chunk = head[pos:pos + CHUNK]
                sock, sender = self._sock, self._sender
            size = chunk.nbytes
            try:
                n = sender(sock, chunk)  # type: ignore[misc]
            except Exception as exc:
                if not _would_block(exc):
                    self._fail("write error: %s" % (exc,), in_loop)
                break
            if n is None:
                n = size
            elif not 0 <= n <= size:
                self._fail("write error: sender returned %r for a %d-byte chunk" % (n, size), in_loop)
                break
            with lock:
                if self._released or self.error is not None:
                    break
                pos += n
                if pos >= head.nbytes:
                    self._queue.popleft()
                    pos = 0
                self._pos = pos
                self.queued -= n
            sent_total += n
            if n < size:
                break

    # -- failure and release (any thread) -------------------------------------------------
    def _clear(self) -> None:
        """Drop the data and the watcher (under the lock)."""
        self._inflight = False
        self._queue.clear()
        self._pos = 0
        self.queued = 0
        self._disarm()

    def _fail(self, msg: str, in_loop: bool) -> None:
        with self._lock:
            if self.error is not None or self._released:
                return
            self.error = msg
            onerror = self._onerror
            self._clear()
            self._sender = self._onerror = None
        self.log("error:", msg)
        if in_loop:
            onerror(msg)  # type: ignore[misc]
        else:
            rel.timeout(0, _deliver, onerror, msg)

    def release(self) -> None:
        """Drop the queued data and the watcher; the writer is done."""
        with self._lock:
            if self._released:
                return
            self._released = True
            self._clear()
            self._sender = self._onerror = None
            self._writer = None
        self.log("released")


# Writers by socket object: weakly held keys when possible (see the module docstring).
_writers: MutableMapping[Any, BuffWriter] = weakref.WeakKeyDictionary()
_pinned: Dict[Any, BuffWriter] = {}
_registry_lock = threading.Lock()


def _table(sock: Any) -> MutableMapping[Any, BuffWriter]:
    try:
        weakref.ref(sock)
    except TypeError:
        return _pinned
    return _writers


def writer_of(sock: Any) -> Optional[BuffWriter]:
    """The writer :func:`buffwrite` keeps for ``sock``, if any."""
    with _registry_lock:
        return _table(sock).get(sock)


def buffwrite(sock: Any, data: Any, sender: Optional[Sender] = None,
              onerror: Optional[OnError] = None) -> None:
    """Queue ``data`` for ``sock``: the loop sends it with ``sender(sock,
    chunk)`` (default ``sock.send``) and reports a failure to
    ``onerror(msg)`` (default: a warning on the ``rel`` logger).

    The first call for a socket creates its writer with these ``sender`` and
    ``onerror``; later calls add to its queue. Safe from any thread.
    """
    try:
        writer = _writers.get(sock)
    except TypeError:  # not weakly referenceable: an int fd, say
        writer = _pinned.get(sock)
    if writer is not None and writer.ingest(data, sock):
        return
    table = _table(sock)
    while True:
        with _registry_lock:
            current = table.get(sock)
            if current is None or current is writer:  # none yet, or released meanwhile
                current = table[sock] = BuffWriter(sock, None, sender, onerror)
            writer = current
        if writer.ingest(data, sock):
            return


def release_buff(sock: Any) -> None:
    """Drop ``sock``'s writer, its queued data and its watcher. The next
    :func:`buffwrite` on ``sock`` starts a new writer."""
    with _registry_lock:
        writer = _table(sock).pop(sock, None)
    if writer is not None:
        writer.release()
    else:
        log("release_buff: no writer for %r" % (sock,))
