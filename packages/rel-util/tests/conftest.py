"""Shared fixtures: a clean loop per test, a bounded ``run``, and a hard
watchdog so that a hang fails the run instead of stalling CI."""

from __future__ import annotations

import faulthandler
import signal
import socket
import sys
import threading
from typing import Any, Callable, Iterator, List, Tuple

import pytest
import rel_core as rel

# A test still running after this long fails, with every thread's traceback
# (see pytest_collection_modifyitems): ``run``'s own bound catches ordinary
# hangs first.
HARD_LIMIT = 120.0


def pytest_collection_modifyitems(config: Any, items: List[Any]) -> None:
    """Bound every test by HARD_LIMIT, unless ``--timeout`` says otherwise.

    With pytest-timeout installed (a test dependency), a hang fails its test
    with every thread's traceback printed past pytest's capture; the thread
    method, because the tests own SIGALRM. Without it, the fixture below
    falls back on faulthandler, which ends the run.
    """
    if not config.pluginmanager.hasplugin("timeout") or config.getoption("timeout", None):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(HARD_LIMIT, method="thread"))


@pytest.fixture(autouse=True)
def clean_loop(request: Any) -> Iterator[None]:
    fallback = not request.config.pluginmanager.hasplugin("timeout")
    if fallback:
        faulthandler.dump_traceback_later(HARD_LIMIT, exit=True, file=sys.stderr)
    rel.init()
    try:
        yield
    finally:
        rel.init()
        if fallback:
            faulthandler.cancel_dump_traceback_later()


class LoopTimeout(Exception):
    """Raised into a dispatch() that ran past its limit."""


@pytest.fixture
def run() -> Callable[..., None]:
    """``run(limit=10)``: dispatch until the test aborts the loop or nothing
    is registered; fail if it is still running after ``limit`` seconds.

    The bound arms nothing in the loop: a timer of its own would bound every
    wait and hide a missing wake-up (a call from another thread that never
    woke the blocked loop). Where there is SIGALRM, an interval timer's
    handler raises LoopTimeout out of the blocked wait itself, waking it
    without rel's waker; elsewhere a thread calls ``rel.abort()``.
    """

    def _run(limit: float = 10.0) -> None:
        expired: List[bool] = []

        def on_alarm(signum: int, frame: object) -> None:
            expired.append(True)
            raise LoopTimeout("the loop was still running after %.1f s" % (limit,))

        if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            old = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, limit)
            try:
                rel.dispatch()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
        else:  # pragma: no cover - Windows
            def expire() -> None:
                expired.append(True)
                rel.abort()

            watchdog = threading.Timer(limit, expire)
            watchdog.daemon = True
            watchdog.start()
            try:
                rel.dispatch()
            finally:
                watchdog.cancel()
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
