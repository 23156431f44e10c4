"""What differs on Windows (see rel_core/_platform.py), checked on the
platform the suite runs on: POSIX here, Windows under the ``windows`` nox
session (a real CPython for Windows, under Wine).

On Windows a socket's fileno() is a SOCKET handle that os.fstat refuses;
select() takes sockets only, 512 per list; set_wakeup_fd takes a socket; the
signals are SIGINT, SIGBREAK and a few others, without SIGUSR1.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import tempfile
import threading
import time

import pytest

from rel_core import _platform, discovery
from rel_core.errors import FdSetSizeError
from relcore_testing import WINDOWS

EMPTY = {"timers": 0, "signals": 0, "reads": 0, "writes": 0, "errors": 0}
windows_only = pytest.mark.skipif(not WINDOWS, reason="Windows semantics")
posix_only = pytest.mark.skipif(WINDOWS, reason="POSIX semantics")
# A signal every platform can raise at itself and rel can catch.
CATCHABLE = signal.SIGBREAK if WINDOWS else signal.SIGUSR1  # type: ignore[attr-defined]


def noop() -> None:
    pass


def test_the_platform_is_what_sys_says():
    assert _platform.WINDOWS == (sys.platform == "win32")


@pytest.mark.parametrize("kind", ["read", "write", "error"])
def test_socket_registers_by_object_and_by_handle(rel, socks, handle, kind, guard):
    """The registration that failed for every socket on Windows (os.fstat)."""
    a, b = socks()
    got = []
    if kind == "read":
        b.send(b"x")
    elif kind == "error":
        b.close()
    def fired():
        got.append(kind)
        rel.timeout(0.05, rel.abort)  # long enough to see a second, wrong run

    getattr(rel, kind)(handle(a), fired)
    assert rel.report()[kind + "s"] == 1
    g = guard()
    rel.dispatch()
    assert not g.expired
    assert got == [kind]


@pytest.mark.parametrize("kind", ["read", "write", "error"])
def test_closed_socket_handle_refused_nothing_half_registered(rel, kind):
    keep, _ = socket.socketpair()  # so that the closed number is not reused at once
    a, b = socket.socketpair()
    number = a.fileno()
    a.close()
    try:
        with pytest.raises(OSError) as info:
            getattr(rel, kind)(number, noop)
        assert str(number) in str(info.value)
        if WINDOWS:
            assert "only sockets" in str(info.value)
        assert rel.report() == EMPTY
        rel.dispatch()  # nothing is left registered: returns at once
    finally:
        b.close()
        keep.close()


@windows_only
def test_pipe_refused_on_windows_saying_why(rel):
    r, w = os.pipe()
    try:
        for fd in (r, w):
            for kind in ("read", "write", "error"):
                with pytest.raises(OSError, match="only sockets"):
                    getattr(rel, kind)(fd, noop)
        assert rel.report() == EMPTY
    finally:
        os.close(r)
        os.close(w)


@windows_only
def test_file_and_its_os_handle_refused_on_windows(rel):
    import msvcrt

    with tempfile.TemporaryFile() as f:
        for what in (f, f.fileno(), msvcrt.get_osfhandle(f.fileno())):
            with pytest.raises(OSError, match="only sockets"):
                rel.read(what, noop)
    assert rel.report() == EMPTY


@posix_only
def test_pipe_still_watchable_on_posix(rel, guard):
    r, w = os.pipe()
    try:
        os.write(w, b"p")
        got = []
        rel.read(r, lambda: got.append(os.read(r, 1)) or rel.abort())
        g = guard()
        rel.dispatch()
        assert not g.expired and got == [b"p"]
    finally:
        os.close(r)
        os.close(w)


def test_socket_closed_while_registered_is_dropped(rel, socks, guard):
    """select() fails as a whole on it (EBADF; WSAENOTSOCK on Windows)."""
    a, b = socks()
    c, d = socks()
    rel.read(a, lambda: True)
    a.close()
    got = []
    rel.read(c, lambda: got.append(c.recv(10)))
    d.send(b"alive")
    g = guard()
    rel.timeout(0.3, rel.abort)
    rel.dispatch()
    assert not g.expired
    assert got == [b"alive"]


def test_signal_wakeup_fd_is_the_wakers_socket(rel):
    previous = signal.getsignal(CATCHABLE)
    w = rel.signal(CATCHABLE, noop)
    try:
        fd = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(fd)
        assert fd != -1
        _platform.check_watchable(fd)  # a socket, as Windows requires
        probe = socket.socket(fileno=fd)
        try:
            assert probe.type == socket.SOCK_STREAM
        finally:
            probe.detach()
    finally:
        w.delete()
    assert signal.getsignal(CATCHABLE) == previous


def test_signal_from_another_thread_wakes_the_blocked_wait(rel, waits, guard):
    """On Windows nothing interrupts select() but a byte on a watched socket:
    the C signal handler writes it through set_wakeup_fd."""
    got = []
    rel.signal(CATCHABLE, lambda: (got.append("signal"), rel.abort()))
    g = guard(10)
    started = []

    def raise_it():
        waits.wait_entered()
        time.sleep(0.1)  # the loop is in select() by now
        started.append(time.monotonic())
        signal.raise_signal(CATCHABLE)

    t = threading.Thread(target=raise_it, daemon=True)
    t.start()
    rel.dispatch()
    t.join(5)
    assert not g.expired, "the signal did not wake the blocked loop"
    assert got == ["signal"]


def test_unknown_signal_names_the_ones_that_exist(rel):
    missing = 10 if WINDOWS else 0  # SIGUSR1's number on Linux; 0 is no signal anywhere
    with pytest.raises(ValueError) as info:
        rel.signal(missing, noop)
    text = str(info.value)
    assert "SIGINT" in text and sys.platform in text
    if WINDOWS:
        assert "SIGBREAK" in text and "SIGUSR1" not in text
    assert rel.report() == EMPTY


@windows_only
def test_windows_signal_set():
    assert not hasattr(signal, "SIGUSR1")
    names = _platform.signal_names()
    assert "SIGINT" in names and "SIGBREAK" in names


@windows_only
def test_fstat_refuses_socket_handles_on_windows():
    """The fact the registration check works around."""
    a, b = socket.socketpair()
    try:
        with pytest.raises(OSError):
            os.fstat(a.fileno())
        _platform.check_watchable(a.fileno())
    finally:
        a.close()
        b.close()


@windows_only
def test_select_takes_512_sockets_on_windows(rel, guard):
    """The loop's wake-up socket plus 511: the next is refused at registration,
    and the loop still works."""
    pairs = [socket.socketpair() for _ in range(_platform.WINDOWS_FD_SETSIZE)]
    try:
        for a, _ in pairs[:-1]:
            rel.read(a, lambda: True)
        assert rel.report()["reads"] == _platform.WINDOWS_FD_SETSIZE - 1
        last, peer = pairs[-1]
        with pytest.raises(FdSetSizeError, match="512 sockets"):
            rel.read(last, noop)
        assert rel.report()["reads"] == _platform.WINDOWS_FD_SETSIZE - 1
        got = []
        first, first_peer = pairs[0]
        rel.read(first, lambda: got.append(first.recv(10)))  # replaces its reader: no new socket
        first_peer.send(b"still")
        g = guard()
        rel.timeout(0.5, rel.abort)
        rel.dispatch()
        assert not g.expired and got == [b"still"]
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def test_registrar_names_are_honest_here(monkeypatch):
    """Each classic name whose select call this platform lacks says so, even
    with rel-registrars not installed; the others say what to install."""
    monkeypatch.setattr(discovery, "_entry_points", lambda: {})
    for name, call in discovery.NEEDS.items():
        with pytest.raises(ImportError) as info:
            discovery.load(name)
        text = str(info.value)
        if hasattr(select, call):
            assert "pip install rel-registrars" in text
        else:
            assert "does not run on this platform (%s)" % sys.platform in text
            assert "pip install" not in text


@windows_only
def test_windows_gets_select_and_selectors():
    for name in ("epoll", "kqueue", "devpoll", "poll"):
        with pytest.raises(ImportError, match="win32"):
            discovery.load(name)
    assert discovery.load("selectors").name == "selectors"
    available = []
    for name in discovery.supported_methods:
        try:
            discovery.load(name)().close()
        except ImportError:
            continue
        available.append(name)
    assert available[-1] == "selectors" and set(available) <= {"select", "selectors"}


def test_write_watcher_hears_a_failed_connect(rel, guard):
    """Windows reports a failed non-blocking connect() in select()'s
    exceptional set only, not as writable (POSIX: writable): a writer waiting
    for the connect must wake all the same."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    s = socket.socket()
    s.setblocking(False)
    try:
        first = s.connect_ex(("127.0.0.1", port))
        got = []

        def on_writable():
            got.append(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
            rel.abort()

        rel.write(s, on_writable)
        g = guard(5)
        rel.dispatch()
        assert not g.expired, "the failed connect never woke the writer"
        assert got and (got[0] or first not in (0,)), (first, got)
    finally:
        s.close()


def test_unbound_socket_registers(rel):
    """A socket with no name yet (Windows' getsockname fails on it) is a socket."""
    s = socket.socket()
    try:
        w = rel.read(s, noop)
        assert w.pending() and rel.report()["reads"] == 1
        w.delete()
        assert rel.report() == EMPTY
    finally:
        s.close()



@windows_only
def test_asyncio_registrar_refused_on_windows_saying_what_runs():
    """Not half working: loading the 'asyncio' registrar is an ImportError
    naming the registrars that do run there."""
    from rel_core import discovery

    with pytest.raises(ImportError) as info:
        discovery.load("asyncio")
    assert "Windows" in str(info.value) and "'select'" in str(info.value)
