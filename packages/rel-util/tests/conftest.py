"""Shared fixtures: a clean loop per test, a bounded ``run``, and a hard
watchdog so that a hang fails the run instead of stalling CI."""

from __future__ import annotations

import faulthandler
import socket
import sys
import time
from typing import Callable, Iterator, List, Tuple

import pytest
import rel_core as rel

# A test whose loop never ends is killed (with every thread's traceback)
# after this long: the rel timer in ``run`` catches ordinary hangs first.
HARD_LIMIT = 120.0


@pytest.fixture(autouse=True)
def clean_loop() -> Iterator[None]:
    faulthandler.dump_traceback_later(HARD_LIMIT, exit=True, file=sys.stderr)
    rel.init()
    try:
        yield
    finally:
        rel.init()
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def run() -> Callable[..., None]:
    """``run(limit=10)``: dispatch until the test aborts the loop or nothing
    but this watchdog is registered; fail if it is still running after
    ``limit`` seconds."""

    def _run(limit: float = 10.0) -> None:
        deadline = time.monotonic() + limit
        expired: List[bool] = []

        def watchdog() -> bool:
            counts = rel.report()
            if not counts["timers"] and not (counts["reads"] or counts["writes"]
                                              or counts["errors"] or counts["signals"]):
                return False  # nothing but this watchdog (not counted while it runs)
            if time.monotonic() > deadline:
                expired.append(True)
                rel.abort()
                return False
            return True

        guard = rel.timeout(0.005, watchdog)
        try:
            rel.dispatch()
        finally:
            guard.delete()
        assert not expired, "the loop was still running after %.1f s" % (limit,)

    return _run


@pytest.fixture
def pair() -> Iterator[Tuple[socket.socket, socket.socket]]:
    """A non-blocking connected socketpair (writer, reader)."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def tcp_pair() -> Iterator[Tuple[socket.socket, socket.socket]]:
    """A non-blocking connected TCP pair on 127.0.0.1 (client, server side)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname(), timeout=5)
    server, _ = listener.accept()
    listener.close()
    client.setblocking(False)
    server.setblocking(False)
    yield client, server
    client.close()
    server.close()


class Drain:
    """A read watcher that collects everything ``sock`` receives and aborts
    the loop once ``expect`` bytes have arrived."""

    def __init__(self, sock: socket.socket, expect: int) -> None:
        self.sock = sock
        self.expect = expect
        self.data = bytearray()
        self.watcher = rel.read(sock, self.on_read)

    def on_read(self) -> bool:
        while True:
            try:
                chunk = self.sock.recv(1 << 20)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            self.data += chunk
            if len(self.data) >= self.expect:
                rel.abort()
                return False


@pytest.fixture
def drain() -> Callable[[socket.socket, int], Drain]:
    return Drain
