"""Replies from Redis, parsed as bytes arrive: redis-py's parsers behind a
feed/gets interface that never touches the socket.

The bus reads its sockets itself (a rel read watcher, one ``recv`` per
readable event) and hands the bytes here. Two implementations, chosen once:

* hiredis installed: ``hiredis.Reader`` (what redis-py's ``_HiredisParser``
  wraps), with redis-py's error mapping;
* otherwise: redis-py's pure-Python ``_RESP2Parser`` over its own
  ``SocketBuffer``, whose "socket" is the bytes fed so far. An incomplete
  reply makes that parser raise redis-py's ``TimeoutError`` after rewinding
  its buffer, which here means "not yet".

Error replies come back as exception instances (``redis.exceptions.ResponseError``
and its subclasses), as both parsers return them: never raised.
"""

from __future__ import annotations

import socket
import time
from collections import deque
from typing import Any, Deque

from redis._parsers import Encoder, _RESP2Parser
from redis.exceptions import InvalidResponse, TimeoutError as RedisTimeout

hiredis: Any
try:
    import hiredis as _hiredis
except ImportError:  # the pure-Python parser then
    hiredis = None
else:
    hiredis = _hiredis

#: returned by :meth:`Reader.gets` while no complete reply is buffered
NOTHING: Any = object()
# one recv per readable event: 16 KiB is ~200 messages, so a burst never
# holds the loop from its other watchers for more than a few ms
READ_SIZE = 1 << 14


class _Fed:
    """The socket ``SocketBuffer`` reads from: the chunks fed so far."""

    def __init__(self) -> None:
        self.chunks: Deque[bytes] = deque()

    def recv(self, size: int) -> bytes:
        if not self.chunks:
            raise socket.timeout("no complete reply yet")
        return self.chunks.popleft()

    def settimeout(self, value: Any) -> None:  # never called: no per-read timeout is passed
        pass


class _PythonReader:
    name = "python"

    def __init__(self) -> None:
        self._fed = _Fed()
        shim = type("Shim", (), {})()
        shim._sock = self._fed
        shim.socket_timeout = None
        shim.encoder = Encoder("utf-8", "strict", False)
        self._parser = _RESP2Parser(READ_SIZE)
        self._parser.on_connect(shim)

    def feed(self, data: bytes) -> None:
        self._fed.chunks.append(bytes(data))

    def gets(self) -> Any:
        try:
            return self._parser.read_response()
        except RedisTimeout:
            return NOTHING


class _HiredisReader:
    name = "hiredis"

    def __init__(self) -> None:
        self._reader = hiredis.Reader(protocolError=InvalidResponse, replyError=_RESP2Parser.parse_error,
                                      notEnoughData=NOTHING)
        self.feed = self._reader.feed
        self.gets = self._reader.gets


def Reader() -> Any:
    """A new reply reader: ``feed(bytes)``, then ``gets()`` until it returns NOTHING."""
    return _HiredisReader() if hiredis is not None else _PythonReader()


PARSER = "hiredis" if hiredis is not None else "python"


def read_blocking(sock: socket.socket, reader: Any, deadline: float) -> Any:
    """The next reply from a blocking ``sock``, waiting until ``deadline``
    (``time.monotonic()``) at most; ``TimeoutError`` past it, ``ConnectionError``
    if the server closes the connection."""
    while True:
        reply = reader.gets()
        if reply is not NOTHING:
            return reply
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("Redis did not answer in time")
        sock.settimeout(left)
        try:
            data = sock.recv(READ_SIZE)
        except socket.timeout:
            raise TimeoutError("Redis did not answer in time") from None
        if not data:
            raise ConnectionError("Redis closed the connection")
        reader.feed(data)
