"""Read/write/error semantics, hang-ups, closed fds and timeouts, on every
registrar available here and on the kqueue/devpoll doubles.

Every I/O test runs with the socket object and with its int fd (rel accepts both).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from typing import Any, List

import pytest
from conftest import count_waits, run_for, run_until, socketpair, tcp_pair

as_fd = pytest.mark.parametrize("as_fd", [False, True], ids=["sock", "fd"])


def handle(sock: socket.socket, as_fd: bool) -> Any:
    return sock.fileno() if as_fd else sock


# -- read / write / error --------------------------------------------------------------
@as_fd
def test_read_fires_when_data_arrives_and_falsy_deletes(reg: Any, closing: Any, as_fd: bool) -> None:
    a, b = socketpair()
    closing(a), closing(b)
    got: List[bytes] = []
    w = reg.read(handle(a, as_fd), lambda: got.append(a.recv(100)))
    b.send(b"hello")
    run_until(reg, lambda: got)
    assert got == [b"hello"]
    assert not w.pending()
    assert reg.report()["reads"] == 0


@as_fd
def test_read_truthy_keeps_watching(reg: Any, closing: Any, as_fd: bool) -> None:
    a, b = socketpair()
    closing(a), closing(b)
    got: List[bytes] = []

    def on_read() -> bool:
        got.append(a.recv(100))
        if len(got) < 3:
            b.send(b"x")
        return True

    w = reg.read(handle(a, as_fd), on_read)
    b.send(b"x")
    run_until(reg, lambda: len(got) == 3)
    assert w.pending()
    w.delete()
    assert reg.report()["reads"] == 0


@as_fd
def test_write_fires_when_writable(reg: Any, closing: Any, as_fd: bool) -> None:
    a, b = socketpair()
    closing(a), closing(b)
    fired: List[int] = []
    w = reg.write(handle(a, as_fd), lambda: fired.append(a.send(b"x")))
    run_until(reg, lambda: fired)
    assert fired == [1] and b.recv(10) == b"x"
    assert not w.pending()


def test_reader_and_writer_on_one_fd(reg: Any, closing: Any) -> None:
    a, b = socketpair()
    closing(a), closing(b)
    order: List[str] = []
    reg.read(a, lambda: order.append("r:%s" % a.recv(10).decode()))
    reg.write(a, lambda: order.append("w"))
    b.send(b"z")
    run_until(reg, lambda: len(order) == 2)
    assert sorted(order) == ["r:z", "w"]


def test_error_watcher_ignores_data(reg: Any, closing: Any) -> None:
    """Bytes that nobody reads are no error, and must not make the loop spin."""
    a, b = socketpair()
    closing(a), closing(b)
    fired: List[int] = []
    reg.error(a, lambda: fired.append(1) or True)
    b.send(b"unread")
    waits = count_waits(reg)
    run_for(reg, 0.2)
    assert fired == []
    assert len(waits) < 10


def test_error_watcher_then_reader_gets_the_data(reg: Any, closing: Any) -> None:
    a, b = socketpair()
    closing(a), closing(b)
    reg.error(a, lambda: True)
    b.send(b"later")
    run_for(reg, 0.05)
    got: List[bytes] = []
    reg.read(a, lambda: got.append(a.recv(100)))
    run_until(reg, lambda: got)
    assert got == [b"later"]


# -- hang-up -------------------------------------------------------------------------------
PEERS = {"socketpair": socketpair, "tcp": tcp_pair}


@pytest.mark.parametrize("make", PEERS.values(), ids=PEERS.keys())
def test_hangup_reaches_error_watcher_and_wakes_reader(reg: Any, closing: Any, make: Any) -> None:
    a, b = make()
    closing(a)
    seen: List[Any] = []
    reg.read(a, lambda: seen.append(("read", a.recv(100))))
    reg.error(a, lambda: seen.append("error"))
    b.close()
    run_until(reg, lambda: len(seen) == 2)
    assert ("read", b"") in seen and "error" in seen


@pytest.mark.parametrize("make", PEERS.values(), ids=PEERS.keys())
def test_hangup_reaches_error_only_watcher(reg: Any, closing: Any, make: Any) -> None:
    a, b = make()
    closing(a)
    seen: List[str] = []
    w = reg.error(a, lambda: seen.append("error"))
    b.close()
    run_until(reg, lambda: seen)
    assert seen == ["error"] and not w.pending()


def test_hangup_with_unread_data_still_reaches_reader(reg: Any, closing: Any) -> None:
    a, b = tcp_pair()
    closing(a)
    b.send(b"last words")
    b.close()
    got: List[bytes] = []
    reg.read(a, lambda: got.append(a.recv(100)) or got[-1] != b"")
    run_until(reg, lambda: got and got[-1] == b"")
    assert b"".join(got) == b"last words"


def test_pipe_hangup(reg: Any, closing: Any) -> None:
    r, w = os.pipe()
    closing(r)
    seen: List[Any] = []
    reg.read(r, lambda: seen.append(os.read(r, 10)))
    reg.error(r, lambda: seen.append("error"))
    os.close(w)
    run_until(reg, lambda: len(seen) == 2)
    assert b"" in seen and "error" in seen


def test_hangup_wakes_writer(reg: Any, closing: Any) -> None:
    """A peer gone: the writer is woken and its send fails (it is not left waiting)."""
    a, b = socketpair()
    closing(a)
    while True:  # fill the buffer so that a is not writable
        try:
            a.send(b"x" * 65536)
        except BlockingIOError:
            break
    outcome: List[str] = []

    def on_write() -> None:
        try:
            a.send(b"more")
            outcome.append("sent")
        except OSError as exc:
            outcome.append(type(exc).__name__)

    reg.write(a, on_write)
    run_for(reg, 0.05)
    assert outcome == []
    b.close()
    run_until(reg, lambda: outcome)
    assert outcome[0] in ("BrokenPipeError", "ConnectionResetError")


@pytest.mark.parametrize("make", PEERS.values(), ids=PEERS.keys())
def test_closing_peer_does_not_spin(reg: Any, closing: Any, make: Any) -> None:
    """Each watcher deletes itself once it has seen the hang-up: dispatch()
    returns promptly, after a handful of waits."""
    a, b = make()
    closing(a)
    seen: List[str] = []
    reg.read(a, lambda: seen.append("read") or a.recv(100) != b"")
    reg.error(a, lambda: seen.append("error"))
    waits = count_waits(reg)
    b.close()
    run_until(reg, lambda: not reg.has_work(), limit=2)
    assert "error" in seen and "read" in seen
    assert len(waits) < 10, "%d waits: spinning" % len(waits)


def test_unread_data_then_hangup_does_not_spin(reg: Any, closing: Any) -> None:
    """An error()-only fd holding unread bytes when its peer hangs up: the
    error() watcher hears of it (select excepted: it cannot tell a hang-up
    behind unread bytes, and parks the fd), and the loop idles."""
    a, b = socketpair()
    closing(a)
    calls: List[int] = []
    reg.error(a, lambda: calls.append(1))
    b.send(b"data nobody reads")
    b.close()
    waits = count_waits(reg)
    run_for(reg, 0.2)
    assert calls == ([1] if reg.name != "select" else [])
    assert len(waits) < 10


# -- fds closed while registered -----------------------------------------------------------
# Acceptable outcomes: the closed fd's watchers are dropped (logged) when the
# poller reports the fd closed (poll, devpoll: POLLNVAL; select: EBADF), or
# they stay silent until deleted or until the number is reused (epoll and
# kqueue forget closed files by themselves); the loop goes on and other
# watchers keep working. Not acceptable: an exception out of loop()/dispatch(),
# a spinning loop, a callback run for the closed fd, other watchers broken.
def test_closed_while_registered_is_dropped_and_loop_goes_on(reg: Any, closing: Any) -> None:
    r, w = os.pipe()
    closing(w)
    a, b = socketpair()
    closing(a), closing(b)
    stale: List[int] = []
    watcher = reg.read(r, lambda: stale.append(1))
    os.close(r)
    got: List[bytes] = []
    reg.read(a, lambda: got.append(a.recv(10)))
    b.send(b"ok")
    waits = count_waits(reg)
    run_until(reg, lambda: got)
    run_for(reg, 0.05)
    assert got == [b"ok"] and stale == []
    assert len(waits) < 10
    watcher.delete()  # whether dropped or not: deleting is harmless
    assert reg.report()["reads"] == 0


def test_closed_then_number_reused_with_dup2(reg: Any, closing: Any) -> None:
    a, b = socketpair()
    closing(b)
    c, d = socketpair()
    closing(c), closing(d)
    stale: List[int] = []
    reg.read(a, lambda: stale.append(1))
    num = a.fileno()
    a.close()
    os.dup2(c.fileno(), num)  # the number now names another socket
    closing(num)
    got: List[bytes] = []
    reg.read(num, lambda: got.append(os.read(num, 10)))
    d.send(b"new")
    run_until(reg, lambda: got)
    assert got == [b"new"] and stale == []


def test_closed_then_deleted(reg: Any) -> None:
    a, b = socketpair()
    w = reg.read(a, lambda: None)
    e = reg.error(a, lambda: None)
    a.close()
    b.close()
    w.delete()
    e.delete()
    assert reg.report()["reads"] == 0
    reg.loop(nonblock=True)


def test_closed_fd_is_refused_at_registration(reg: Any) -> None:
    a, b = socketpair()
    fd = a.fileno()
    a.close()
    b.close()
    with pytest.raises(OSError):
        reg.read(fd, lambda: None)
    assert reg.report()["reads"] == 0


# -- waits -----------------------------------------------------------------------------------
@pytest.mark.parametrize("delay", [0.0004, 0.0015, 0.012])
def test_wait_never_returns_before_the_timer_is_due(reg: Any, delay: float) -> None:
    """One blocking iteration is enough: the wait is rounded up, not down."""
    fired: List[float] = []
    t0 = time.monotonic()
    reg.timeout(delay, lambda: fired.append(time.monotonic() - t0))
    reg.loop()
    assert fired and fired[0] >= delay


def test_interrupted_wait_reports_nothing(reg: Any) -> None:
    """InterruptedError out of the kernel call is an empty wait."""
    if reg.name == "epoll":
        pytest.skip("epoll.poll is the wait itself; CPython retries on EINTR (PEP 475)")

    def interrupted(*args: Any) -> Any:
        raise InterruptedError()

    for attr in ("_poll", "_control"):
        if hasattr(reg, attr):
            setattr(reg, attr, interrupted)
    if reg.name == "select":
        import rel_registrars.select as mod

        real, mod.select = mod.select, type("S", (), {"select": staticmethod(interrupted)})
        try:
            assert reg._poller_wait(0.01) == []
        finally:
            mod.select = real
    else:
        assert reg._poller_wait(0.01) == []


def test_signal_during_wait_neither_breaks_nor_shortens_it(reg: Any) -> None:
    """A signal lands in the blocked wait (EINTR underneath) and its handler
    returns: the loop goes on, and the timer fires on time, not early."""
    caught: List[int] = []
    old = signal.signal(signal.SIGUSR1, lambda signum, frame: caught.append(signum))
    kill = threading.Timer(0.05, signal.pthread_kill, (threading.get_ident(), signal.SIGUSR1))
    try:
        fired: List[float] = []
        t0 = time.monotonic()
        reg.timeout(0.2, lambda: fired.append(time.monotonic() - t0))
        kill.start()
        run_until(reg, lambda: fired)
        kill.join()
        assert caught == [signal.SIGUSR1] and fired[0] >= 0.2
    finally:
        kill.cancel()
        signal.signal(signal.SIGUSR1, old)


def test_many_ready_at_once(reg: Any, closing: Any) -> None:
    pairs = [socketpair() for _ in range(50)]
    for a, b in pairs:
        closing(a), closing(b)
    got: List[int] = []
    for i, (a, b) in enumerate(pairs):
        reg.read(a, lambda i=i, a=a: got.append(i) or a.recv(10) and False)
        reg.write(b, lambda b=b: b.send(b"x") and False)
    run_until(reg, lambda: len(got) == 50)
    assert sorted(got) == list(range(50))
