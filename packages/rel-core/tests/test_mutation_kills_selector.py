"""An ``error()`` watcher on an fd with nothing else watching it: what the
portable registrar's probe (``SelectorRegistrar._poller_probe``) must tell
apart. selectors polls such an fd for readability, so readable can mean an
error or hang-up (fire), bytes waiting for a reader (quiet, and the bytes
untouched), a connection waiting on a listening socket (quiet), or bytes
already read by the time the probe looks (quiet). Every registrar must agree,
so these run on each one under test; the counts of poller waits show a
quiet fd does not make the loop spin.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from typing import Any, List

import pytest

from relcore_testing import posix_fds

# A quiet fd must not wake the poller at every pass: a bounded dispatch of a
# fraction of a second waits a handful of times; a spinning one, thousands.
SPIN = 50


def run_for(rel: Any, seconds: float) -> None:
    rel.timeout(seconds, rel.abort)
    rel.dispatch()


def listening(family: int) -> Any:
    if family == socket.AF_INET:
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        return lsock, lsock.getsockname(), None
    path = os.path.join(tempfile.mkdtemp(), "s")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(8)
    return lsock, path, path


FAMILIES = [pytest.param(socket.AF_INET, id="tcp")]
if hasattr(socket, "AF_UNIX") and sys.platform != "win32":
    FAMILIES.append(pytest.param(socket.AF_UNIX, id="unix"))


@pytest.mark.parametrize("family", FAMILIES)
def test_error_watcher_on_a_listening_socket_stays_quiet(rel, waits, family):
    """Connections waiting for accept() are no error (AF_UNIX's recv says
    EINVAL there, TCP's ENOTCONN: the probe asks SO_ACCEPTCONN instead)."""
    lsock, addr, path = listening(family)
    clients: List[socket.socket] = []
    try:
        fired: List[int] = []
        rel.error(lsock, lambda: fired.append(1) or True)
        for _ in range(3):
            c = socket.socket(family, socket.SOCK_STREAM)
            c.connect(addr)
            clients.append(c)
        run_for(rel, 0.3)
        assert fired == []
        assert waits.count < SPIN
        lsock.setblocking(False)
        conn, _ = lsock.accept()  # the connections are still there to accept
        conn.close()
    finally:
        for c in clients:
            c.close()
        lsock.close()
        if path:
            os.unlink(path)


def test_bytes_waiting_for_a_reader_are_no_error_and_stay_unread(rel, socks, waits):
    a, b = socks()
    fired: List[int] = []
    err = rel.error(a, lambda: fired.append(1) or True)
    b.send(b"hello")
    run_for(rel, 0.2)
    assert fired == []
    assert waits.count < SPIN
    got: List[bytes] = []

    def on_read() -> bool:
        got.append(a.recv(100))
        rel.abort()
        return False

    rel.read(a, on_read)
    rel.timeout(5, rel.abort)
    rel.dispatch()
    assert got == [b"hello"]  # the probe peeked: not a byte was taken
    assert fired == []
    err.delete()


def test_a_reader_and_an_error_watcher_on_one_fd_data_is_no_error(rel, socks):
    a, b = socks()
    fired: List[int] = []
    got: List[bytes] = []
    rel.error(a, lambda: fired.append(1) or True)

    def on_read() -> bool:
        got.append(a.recv(100))
        return True

    rel.read(a, on_read)
    b.send(b"x")
    run_for(rel, 0.2)
    assert got == [b"x"]
    assert fired == []


def test_bytes_read_before_the_probe_looks_are_no_error(rel, socks):
    """A callback earlier in the same pass reads the bytes that made the fd
    readable: the probe finds nothing (EAGAIN), and that is no error either.
    The fd read is left blocking: a probe that waited for data would hang."""
    first, first_peer = socks()  # made first: the lower fds, reported first
    second, second_peer = socks()
    second.setblocking(True)
    fired: List[int] = []
    drained: List[bytes] = []

    def drain_the_other() -> bool:
        first.recv(100)
        drained.append(second.recv(100))
        return True

    # first ready before second is: reported first
    first_peer.send(b"1")
    rel.read(first, drain_the_other)
    rel.error(second, lambda: fired.append(1) or True)
    second_peer.send(b"2")
    run_for(rel, 0.2)
    assert drained == [b"2"]
    assert fired == []


def test_a_reader_deleted_earlier_in_the_pass_leaves_no_error(rel, socks):
    """An fd with a reader, a writer and an error watcher, readable; a
    callback earlier in the same pass deletes its reader: the fd's read
    event finds no reader, and is no error."""
    first, first_peer = socks()
    second, second_peer = socks()
    fired: List[int] = []
    wrote: List[int] = []
    reader: List[Any] = []

    def delete_the_other() -> bool:
        reader[0].delete()
        return False

    # first ready before second is watched at all: reported first
    first_peer.send(b"1")
    rel.read(first, delete_the_other)
    rel.error(second, lambda: fired.append(1) or True)
    reader.append(rel.read(second, lambda: True))
    rel.write(second, lambda: wrote.append(1) or len(wrote) < 3)
    second_peer.send(b"2")
    run_for(rel, 0.2)
    assert fired == []
    assert wrote == [1, 1, 1]


@posix_fds
def test_error_watcher_on_a_pipe_hears_the_writer_close(rel):
    r, w = os.pipe()
    try:
        fired: List[int] = []

        def on_error() -> bool:
            fired.append(1)
            rel.abort()
            return False

        rel.error(r, on_error)
        os.close(w)
        w = -1
        rel.timeout(5, rel.abort)
        rel.dispatch()
        assert fired == [1]
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


@posix_fds
def test_error_watcher_on_a_pipe_with_bytes_waiting_stays_quiet(rel, waits):
    r, w = os.pipe()
    try:
        fired: List[int] = []
        rel.error(r, lambda: fired.append(1) or True)
        os.write(w, b"abc")
        run_for(rel, 0.2)
        assert fired == []
        assert waits.count < SPIN
        assert os.read(r, 10) == b"abc"
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.skipif(not hasattr(os, "eventfd"), reason="os.eventfd: Linux, Python 3.10+")
def test_error_watcher_on_an_fd_that_cannot_be_looked_into_does_not_spin(rel, waits):
    """An eventfd is readable while its counter is set, and has no FIONREAD:
    the probe cannot tell what it holds, takes it for data (no error), and
    parks it rather than have the poller report it at every pass."""
    efd = os.eventfd(1)  # type: ignore[attr-defined]
    try:
        fired: List[int] = []
        rel.error(efd, lambda: fired.append(1) or True)
        run_for(rel, 0.3)
        assert fired == []
        assert waits.count < SPIN
    finally:
        os.close(efd)


@pytest.mark.skipif(sys.platform == "win32", reason="Windows' select() reports a socket never "
                    "connected neither readable nor in error: there is nothing to fire on")
def test_error_watcher_on_a_socket_never_connected_fires(rel):
    """A TCP socket neither connected nor listening is hung up (epoll and
    poll say HUP): its recv says ENOTCONN, which is the error condition."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        fired: List[int] = []

        def on_error() -> bool:
            fired.append(1)
            rel.abort()
            return False

        rel.error(s, on_error)
        rel.timeout(5, rel.abort)
        rel.dispatch()
        assert fired == [1]
    finally:
        s.close()
