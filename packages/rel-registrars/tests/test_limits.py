"""Many fds and high fd numbers: select's FD_SETSIZE, 2,000 socket pairs."""

from __future__ import annotations

import os
import socket
from typing import Any, List

import pytest
from conftest import run_until, socketpair

from rel_registrars.select import FdSetSizeError, SelectRegistrar

HIGH_FD = 1500  # above every FD_SETSIZE of 1024


@pytest.fixture
def high_fd(fd_limit: int) -> Any:
    """A socketpair whose first end is fd number HIGH_FD."""
    if fd_limit <= HIGH_FD:
        pytest.skip("RLIMIT_NOFILE's hard limit (%d) is too low" % fd_limit)
    a, b = socketpair()
    os.dup2(a.fileno(), HIGH_FD)
    a.close()
    high = socket.socket(fileno=HIGH_FD)
    yield high, b
    high.close()
    b.close()


def test_select_refuses_fd_above_fd_setsize_at_registration(high_fd: Any) -> None:
    high, peer = high_fd
    reg = SelectRegistrar()
    try:
        with pytest.raises(ValueError) as info:
            reg.read(high, lambda: None)
        assert isinstance(info.value, FdSetSizeError) and isinstance(info.value, OSError)
        text = str(info.value)
        assert "FD_SETSIZE" in text and "1024" in text and str(HIGH_FD) in text
        for other in ("epoll", "kqueue", "devpoll", "poll"):
            assert other in text
        assert reg.report()["reads"] == 0 and HIGH_FD not in reg._kmask
        # the loop is unharmed: other fds work, dispatch() never sees the refused one
        a, b = socketpair()
        got: List[bytes] = []
        reg.read(a, lambda: got.append(a.recv(10)))
        b.send(b"fine")
        reg.dispatch()
        assert got == [b"fine"]
        a.close(), b.close()
    finally:
        reg.close()


def test_fd_above_fd_setsize_works_elsewhere(registrar_cls: Any, high_fd: Any) -> None:
    if registrar_cls is SelectRegistrar:
        pytest.skip("select refuses it (previous test)")
    high, peer = high_fd
    reg = registrar_cls()
    try:
        got: List[bytes] = []
        reg.read(high, lambda: got.append(high.recv(10)))
        peer.send(b"high")
        run_until(reg, lambda: got)
        assert got == [b"high"]
    finally:
        reg.close()


def test_two_thousand_socket_pairs(registrar_cls: Any, fd_limit: int) -> None:
    """Every pair registered at once; every reader hears its own byte."""
    n = 2000
    if fd_limit < 2 * n + 100:
        pytest.skip("RLIMIT_NOFILE's hard limit (%d) is too low" % fd_limit)
    reg = registrar_cls()
    pairs = [socketpair() for _ in range(n)]
    try:
        if registrar_cls is SelectRegistrar:
            with pytest.raises(FdSetSizeError):
                for a, _ in pairs:
                    reg.read(a, lambda: None)
            return
        got: List[int] = []
        for i, (a, _) in enumerate(pairs):
            reg.read(a, lambda i=i, a=a: got.append(i) or a.recv(10) and False)
        assert reg.report()["reads"] == n
        for _, b in pairs:
            b.send(b"x")
        run_until(reg, lambda: len(got) == n, limit=30)
        assert sorted(got) == list(range(n))
        assert reg.report()["reads"] == 0
    finally:
        reg.close()
        for a, b in pairs:
            a.close(), b.close()


def test_select_cannot_start_when_its_own_fd_is_too_high(high_fd: Any, fd_limit: int) -> None:
    """Its wake-up fd above FD_SETSIZE: select is "not available" (ImportError),
    so initialize() moves on to the next registrar."""
    fillers = []
    try:
        while True:  # take every free number below HIGH_FD + 1
            fd = os.open(os.devnull, os.O_RDONLY)
            fillers.append(fd)
            if fd > HIGH_FD:
                break
        with pytest.raises(ImportError, match="FD_SETSIZE"):
            SelectRegistrar()
    finally:
        for fd in fillers:
            os.close(fd)
