"""Fixtures for websocket-client against a real WebSocket server.

The server (``echo_server.py``, on the ``websockets`` package) runs in a
subprocess on a free port of 127.0.0.1, so killing and restarting it is a
real disconnect. Every test is bounded: ``dispatch`` runs the loop with a
rel timer that aborts it and fails the test, and a faulthandler watchdog
kills the whole run if something blocks the loop itself.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Iterator, List, Optional, Sequence

import pytest
import rel
import websocket

HERE = os.path.dirname(os.path.abspath(__file__))
HARD_LIMIT = 180.0  # seconds; a blocked loop is killed with every thread's traceback
# The TLS tests' certificates come from relutil_tls.py, beside rel-util's unit
# tests (appended: this folder's own modules come first).
sys.path.append(os.path.join(os.path.dirname(HERE), "tests"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EchoServer:
    """The echo server subprocess (or another server ``script`` of this folder,
    given the port and ``args``): ``start()``, ``kill()``, ``url``."""

    def __init__(self, script: str = "echo_server.py", args: Sequence[str] = (), scheme: str = "ws") -> None:
        self.port = free_port()
        self.url = "%s://127.0.0.1:%d/" % (scheme, self.port)
        self.script = script
        self.args = list(args)
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:  # the port may still be held for a moment after a kill
            self.proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, self.script), str(self.port), *self.args],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            line = self._first_line(deadline)
            if line == "READY":
                return
            self.kill()
            if time.monotonic() > deadline:
                raise RuntimeError("echo server did not start: %r" % (line,))
            time.sleep(0.2)

    def _first_line(self, deadline: float) -> str:
        result: List[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline().strip()),
                                  daemon=True)
        reader.start()
        reader.join(max(0.1, deadline - time.monotonic()))
        return result[0] if result else "<timeout>"

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(10)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()
        self.proc = None


@pytest.fixture
def server() -> Iterator[EchoServer]:
    srv = EchoServer()
    srv.start()
    yield srv
    srv.kill()


@pytest.fixture(autouse=True)
def clean_loop() -> Iterator[None]:
    faulthandler.dump_traceback_later(HARD_LIMIT, exit=True, file=sys.stderr)
    websocket.setdefaulttimeout(None)
    rel.init()
    try:
        yield
    finally:
        rel.init()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def dispatch() -> Callable[..., None]:
    """``dispatch(limit)``: ``rel.dispatch()`` with a safety abort after
    ``limit`` seconds, which fails the test."""

    def _dispatch(limit: float = 30.0) -> None:
        expired: List[bool] = []

        def safety() -> None:
            expired.append(True)
            rel.abort()

        guard = rel.timeout(limit, safety)
        start = time.monotonic()
        try:
            rel.dispatch()
        finally:
            guard.delete()
        assert not expired, "dispatch() still running after %.1f s" % (time.monotonic() - start,)

    return _dispatch


def close_app(app: websocket.WebSocketApp) -> None:
    """Close without waiting for the server's close frame (the loop is not
    running to send ours)."""
    app.keep_running = False
    if app.sock is not None:
        app.sock.close(timeout=0)
        app.sock = None
