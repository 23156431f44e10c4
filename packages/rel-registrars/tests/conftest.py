"""Fixtures: every registrar of this distribution available here, plus the
kqueue and devpoll doubles; socket pairs; a bounded loop runner."""

from __future__ import annotations

import os
import resource
import signal
import socket
import sys
import time
from typing import Any, Callable, Iterator, List, Tuple

import pytest
from rel_core import discovery

sys.path.insert(0, os.path.dirname(__file__))
import doubles  # noqa: E402

OURS = ["epoll", "kqueue", "devpoll", "poll", "select"]
DOUBLES = {"kqueue-double": doubles.KqueueDoubleRegistrar, "devpoll-double": doubles.DevpollDoubleRegistrar}
TEST_LIMIT = 60  # seconds: no test of this suite may take longer


def _classes() -> List[Any]:
    params = []
    for name in OURS:
        try:
            cls: Any = discovery.load(name)
            cls().close()
            marks: Any = ()
        except ImportError as exc:
            cls, marks = None, pytest.mark.skip(reason=str(exc))
        params.append(pytest.param(cls, id=name, marks=marks))
    params += [pytest.param(cls, id=name) for name, cls in DOUBLES.items()]
    return params


CLASSES = _classes()


@pytest.fixture(params=CLASSES)
def registrar_cls(request: Any) -> Any:
    return request.param


@pytest.fixture
def reg(registrar_cls: Any) -> Iterator[Any]:
    r = registrar_cls()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    """Fail a test that hangs (SIGALRM raises wherever it lands)."""
    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError("test exceeded %d s" % TEST_LIMIT)

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_LIMIT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def fd_limit() -> Iterator[int]:
    """Raise RLIMIT_NOFILE's soft limit to the hard one for this test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    yield want
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture
def closing() -> Iterator[Callable[[Any], Any]]:
    """``closing(obj)``: close ``obj`` (socket or fd) after the test."""
    objs: List[Any] = []
    yield lambda o: objs.append(o) or o
    for o in objs:
        try:
            os.close(o) if isinstance(o, int) else o.close()
        except OSError:
            pass


def socketpair() -> Tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def tcp_pair() -> Tuple[socket.socket, socket.socket]:
    """Two connected TCP sockets on loopback: a peer's close() is a FIN, not a hang-up."""
    with socket.socket() as lsn:
        lsn.bind(("127.0.0.1", 0))
        lsn.listen(1)
        a = socket.create_connection(lsn.getsockname())
        b, _ = lsn.accept()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def run_until(reg: Any, done: Callable[[], Any], limit: float = 5.0) -> None:
    """Run ``reg.loop()`` until ``done()``; fail after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not done():
        remaining = deadline - time.monotonic()
        assert remaining > 0, "not done after %.1f s" % limit
        guard = reg.timeout(remaining, lambda: None)
        reg.loop()
        guard.delete()


def run_for(reg: Any, seconds: float) -> None:
    """Run ``reg``'s loop for ``seconds`` (a timer ends it)."""
    reg.timeout(seconds, reg.pause)
    reg.dispatch()


def count_waits(reg: Any) -> List[int]:
    """Wrap ``reg._poller_wait``; the returned list's length counts the calls."""
    calls: List[int] = []
    wait = reg._poller_wait

    def counted(timeout: Any) -> Any:
        calls.append(1)
        return wait(timeout)

    reg._poller_wait = counted
    return calls
