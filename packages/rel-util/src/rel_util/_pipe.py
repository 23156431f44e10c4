"""One Redis connection on rel's loop, for the bus (see redis_bus.py).

A read watcher hands whatever arrives (16 KiB at most per readable event) to
a reply parser and the complete replies to the link. Writes go to a buffer
that a zero-delay rel timer sends once per loop pass (a burst of commands is
one ``send``), or at once outside ``dispatch()``; a buffer past ``SEND_AT``
is sent at once, so a burst made in one callback reaches Redis (and the
listeners) while the callback goes on. A write watcher takes over while the
kernel is full. ``rel.abort()``/``rel.init()`` drop the watchers as
they drop every I/O watcher: the next write re-arms them.
"""

from __future__ import annotations

import select
import threading
import time
from typing import Any, Callable, List, Optional, Sequence

import rel_core as rel
from redis.exceptions import ResponseError

from . import _resp
from .buff import _would_block


#: a write buffer this big is sent at once, not at the end of the loop pass
SEND_AT = 1 << 14


def _packer(conn: Any) -> Callable[..., bytes]:
    """``packb(*args)``: one command as bytes; hiredis's packer where it is installed
    (what redis-py's own HiredisRespSerializer calls, minus its per-call checks)."""
    if _resp.hiredis is not None and hasattr(_resp.hiredis, "pack_command"):
        hpack = _resp.hiredis.pack_command
        return lambda *args: hpack(args)
    pack = conn.pack_command
    return lambda *args: b"".join(pack(*args))


def handshake(new_conn: Callable[[], Any], names: Sequence[bytes], transpired_key: str,
              deadline: float) -> tuple:
    """Open a bus's two connections, blocking until ``deadline``: ``sub``
    subscribed to ``names``, then ``SMEMBERS transpired_key`` on ``cmd``.
    Returns (sub, its reader, messages that came before the confirmations,
    cmd, its reader, the members, the names as a set)."""
    sub = new_conn()
    cmd = new_conn()
    try:
        sub.connect()
        cmd.connect()
        sub_reader = _resp.Reader()
        sub._sock.sendall(b"".join(sub.pack_command("SUBSCRIBE", *names)))
        early = []
        confirmed = 0
        while confirmed < len(names):
            reply = _resp.read_blocking(sub._sock, sub_reader, deadline)
            if isinstance(reply, ResponseError):
                raise reply
            if reply[0] == b"subscribe":
                confirmed += 1
            else:
                early.append(reply)
        # Subscribed to the transpire channel before reading the set: an
        # event transpired meanwhile arrives one way or the other.
        cmd_reader = _resp.Reader()
        cmd._sock.sendall(b"".join(cmd.pack_command("SMEMBERS", transpired_key)))
        members = _resp.read_blocking(cmd._sock, cmd_reader, deadline)
        if isinstance(members, ResponseError):
            raise members
    except BaseException:
        sub.disconnect()
        cmd.disconnect()
        raise
    return sub, sub_reader, early, cmd, cmd_reader, members, set(names)


class Pipe:
    """One Redis connection on rel's loop: a read watcher feeding a reply
    parser, and a write buffer sent once per loop pass."""

    def __init__(self, conn: Any, reader: Any, on_replies: Callable[[List[Any]], None],
                 on_lost: Callable[[str], None], lock: threading.RLock) -> None:
        self.conn = conn
        self.sock = conn._sock
        self.sock.setblocking(False)
        self.reader = reader
        self.on_replies = on_replies
        self.on_lost = on_lost
        self.lock = lock
        self.buf = bytearray()
        self.scheduled = False
        self.writer: Any = None
        self.closed = False
        self.peer: Optional[Pipe] = None  # the other connection, re-armed with this one
        self.reading = rel.read(self.sock, self._readable)
        self.flusher = rel.timeout(None, self.flush)

    def write(self, data: bytes) -> None:
        """Queue ``data``; it leaves in this loop pass (at once outside the loop). Hold the lock."""
        buf = self.buf
        buf += data
        writer = self.writer
        if writer is not None:
            if writer.pending():
                return
            self.writer = None  # rel.abort() or rel.init() dropped it
        if len(buf) >= SEND_AT and not self.closed:
            # A burst inside one callback: Redis and the listeners start on
            # it now rather than after the callback's last emit.
            self._send()
            if self.closed:  # the send failed: the session is reconnecting
                return
            if buf:
                self.writer = rel.write(self.sock, self._writable)
                return
        if self.scheduled and self.flusher.pending():
            return
        if rel.is_running():
            self.scheduled = True
            self.flusher.add(0)
        else:
            self.flush()

    def flush(self) -> bool:
        with self.lock:
            self.scheduled = False
            if self.closed:
                return False
            self.rearm()
            if self.writer is not None:
                if self.writer.pending():
                    return False
                self.writer = None
            if not self.buf:
                return False
            self._send()
            if self.buf and not self.closed:
                self.writer = rel.write(self.sock, self._writable)
        return False

    def rearm(self) -> None:
        """Read again if rel.abort() or rel.init() dropped the watchers (the
        next write re-arms them, as BuffWriter's)."""
        for pipe in (self, self.peer):
            if pipe is not None and not pipe.closed and not pipe.reading.pending():
                pipe.reading.add()

    def _send(self) -> None:
        # On TLS, a send refused with want-write may have handed part of the
        # buffer to OpenSSL already: the retry must offer the same bytes
        # again, and it does (the buffer only loses its head once sent, and
        # what was added since lies after; CPython sets
        # SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, so the bytearray may move).
        try:
            sent = self.sock.send(self.buf)
        except OSError as exc:
            if not _would_block(exc):  # would-block, interrupted, SSL's want-read/write: not yet
                self.on_lost("write failed: %s" % (exc,))
            return
        del self.buf[:sent]  # O(1): bytearray drops its head in place

    def _writable(self) -> bool:
        with self.lock:
            if self.closed:
                return False
            self._send()
            if self.buf and not self.closed:
                return True
            self.writer = None
            return False

    def _readable(self) -> bool:
        # On TLS, bytes already decrypted but left in the SSLSocket (pending())
        # wake no poller: rel runs this watcher again while there are some.
        try:
            data = self.sock.recv(_resp.READ_SIZE)
        except OSError as exc:
            if _would_block(exc):  # and SSL's want-read: part of a record came, not all
                return True
            self.on_lost("read failed: %s" % (exc,))
            return False
        if not data:
            self.on_lost("connection closed by the server")
            return False
        return self._parse(data)

    def _parse(self, data: bytes) -> bool:
        reader = self.reader
        reader.feed(data)
        replies = []
        gets = reader.gets
        nothing = _resp.NOTHING
        while True:
            try:
                reply = gets()
            except Exception as exc:  # a protocol error: this connection is useless now
                self.on_lost("protocol error: %s" % (exc,))
                return False
            if reply is nothing:
                break
            replies.append(reply)
        if replies:
            self.on_replies(replies)
        return not self.closed

    def drain(self, deadline: float, until: Callable[[], bool], read: bool = True) -> bool:
        """Blocking: send the buffer (and read replies, with ``read``) until
        ``until()`` or ``deadline``; True if ``until()`` came true. For
        disconnect and the synchronous ask only."""
        while not self.closed:
            if not self.buf and until():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # TLS: decrypted bytes waiting in the SSLSocket are no news to select().
            waiting = read and self.pending()
            try:
                r, w, _ = select.select([self.sock] if read else [], [self.sock] if self.buf else [], [],
                                        0 if waiting else left)
            except (OSError, ValueError):
                return False
            if w:
                with self.lock:
                    self._send()
            if (r or waiting) and not self._readable():
                return False
        return until()

    def pending(self) -> int:
        """Bytes decrypted and waiting in the socket (TLS); 0 for a plain socket."""
        pending = getattr(self.sock, "pending", None)
        return pending() if pending is not None else 0

    def close(self) -> None:
        self.closed = True
        self.reading.delete()
        self.flusher.delete()
        if self.writer is not None:
            self.writer.delete()
            self.writer = None
        try:
            self.conn.disconnect()
        except Exception:
            pass
