"""Fixtures of the Redis bus tests: one real redis-server per session (a free
port in a temporary folder, stopped at the end), a fresh namespace per test,
the loop and the bus clean around each test, and worker subprocesses."""

from __future__ import annotations

import faulthandler
import json
import os
import subprocess
import sys
import uuid
from typing import Iterator, List

import pytest
import rel_core as rel

from server import RedisServer, find_redis_server

HERE = os.path.dirname(os.path.abspath(__file__))
HARD_LIMIT = 180.0
# The TLS tests' certificates come from relutil_tls.py, beside rel-util's unit
# tests (appended: this folder's own modules come first).
sys.path.append(os.path.join(os.path.dirname(HERE), "tests"))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    binary = find_redis_server()
    if binary is None:
        pytest.skip("REDIS TESTS SKIPPED: no redis-server on this machine (apt-get install redis-server, "
                    "or run `nox -s redis`, which installs it)")
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of its own that speaks TLS too, with a certificate
    authority made for the session (``tls_url``; ``tls``: ca, cert, key)."""
    from relutil_tls import NO_OPENSSL, make_certs

    binary = find_redis_server()
    if binary is None:
        pytest.skip("REDIS TESTS SKIPPED: no redis-server on this machine")
    if NO_OPENSSL:
        pytest.skip(NO_OPENSSL)
    server = RedisServer(binary, tls=tuple(make_certs(str(tmp_path_factory.mktemp("tls")))))
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def server(redis_server: RedisServer) -> RedisServer:
    """The session's server, running (a test that stopped it gets it back)."""
    if not redis_server.ping():
        redis_server.start()
    return redis_server


@pytest.fixture
def ns() -> str:
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    from rel_util import bus

    faulthandler.dump_traceback_later(HARD_LIMIT, exit=True)
    rel.init()
    bus.listeners.clear()
    bus.happenings.clear()
    bus.transpired.clear()
    try:
        yield
    finally:
        bus.disconnect()
        bus.listeners.clear()
        bus.happenings.clear()
        bus.transpired.clear()
        rel.init()
        faulthandler.cancel_dump_traceback_later()


class Worker:
    """A subprocess running ``worker.py MODE URL NS ARGS``: a line of JSON per event on stdout."""

    def __init__(self, mode: str, url: str, ns: str, *args: object) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "worker.py"), mode, url, ns, *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def line(self, timeout: float = 30.0) -> dict:
        """The next line of JSON (after ``timeout`` seconds: fail)."""
        import select

        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            self.kill()
            raise AssertionError("worker said nothing for %.0f s; stderr: %s" % (timeout, self.stderr()))
        text = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not text:
            raise AssertionError("worker ended; stderr: %s" % (self.stderr(),))
        return json.loads(text)

    def expect(self, what: str, timeout: float = 30.0) -> dict:
        msg = self.line(timeout)
        assert msg.get("event") == what, (msg, self.stderr() if msg.get("event") == "error" else "")
        return msg

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read()[-3000:]  # type: ignore[union-attr]

    def wait(self, timeout: float = 60.0) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def workers() -> Iterator[List[Worker]]:
    made: List[Worker] = []
    yield made
    for w in made:
        w.kill()
        for f in (w.proc.stdout, w.proc.stderr):
            if f:
                f.close()


@pytest.fixture
def spawn(workers: List[Worker], server: RedisServer, ns: str):
    def _spawn(mode: str, *args: object) -> Worker:
        w = Worker(mode, server.url, ns, *args)
        workers.append(w)
        return w

    return _spawn
