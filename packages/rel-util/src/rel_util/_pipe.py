"""One Redis connection on rel's loop, for the bus (see redis_bus.py).

A read watcher hands whatever arrives (16 KiB at most per readable event) to
a reply parser and the complete replies to the link. Writes go to a buffer
that a zero-delay rel timer sends once per loop pass (a burst of commands is
one ``send``), or at once outside ``dispatch()``; a write watcher takes over
while the kernel is full. ``rel.abort()``/``rel.init()`` drop the watchers as
they drop every I/O watcher: the next write re-arms them.
"""

from __future__ import annotations

import select
import threading
import time
from typing import Any, Callable, List, Optional

import rel_core as rel

from . import _resp


def _packer(conn: Any) -> Callable[..., bytes]:
    """``packb(*args)``: one command as bytes; hiredis's packer where it is installed
    (what redis-py's own HiredisRespSerializer calls, minus its per-call checks)."""
    if _resp.hiredis is not None and hasattr(_resp.hiredis, "pack_command"):
        hpack = _resp.hiredis.pack_command
        return lambda *args: hpack(args)
    pack = conn.pack_command
    return lambda *args: b"".join(pack(*args))


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
        self.buf += data
        writer = self.writer
        if writer is not None:
            if writer.pending():
                return
            self.writer = None  # rel.abort() or rel.init() dropped it
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
        try:
            sent = self.sock.send(self.buf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
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
        try:
            data = self.sock.recv(_resp.READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError as exc:
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
            try:
                r, w, _ = select.select([self.sock] if read else [], [self.sock] if self.buf else [], [],
                                        left)
            except (OSError, ValueError):
                return False
            if w:
                with self.lock:
                    self._send()
            if r and not self._readable():
                return False
        return until()

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
