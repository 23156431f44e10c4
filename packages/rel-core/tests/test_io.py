"""I/O watchers on real sockets and pipes: readiness, EOF, errors, back-pressure."""

from __future__ import annotations

import os
import socket
import struct

import pytest

import rel_core.rel as facade
from relcore_testing import dispatch_to_end, posix_fds


def test_read_sees_eof_when_peer_closes(rel, socks, handle, settle):
    a, b = socks()
    got = []

    def on_read():
        data = a.recv(100)
        got.append(data)
        return bool(data)

    rel.read(handle(a), on_read)
    b.send(b"last words")
    b.close()
    settle()  # data, then EOF (falsy: deleted), then nothing left
    assert got == [b"last words", b""]


def test_read_sees_eof_on_tcp(rel, tcp_pair, handle):
    client, server = tcp_pair()
    got = []

    def on_read():
        data = server.recv(100)
        got.append(data)
        return bool(data)

    rel.read(handle(server), on_read)
    client.sendall(b"bye")
    client.close()
    rel.dispatch()
    assert b"".join(got) == b"bye" and got[-1] == b""


def _reset(sock):
    """Close ``sock`` so that its peer gets a TCP reset (SO_LINGER 0)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_error_watcher_fires_on_peer_reset(rel, tcp_pair, handle):
    """Only an error watcher armed: a peer reset is an error condition
    (POLLERR|POLLHUP, kqueue EOF) whatever the registrar."""
    client, server = tcp_pair()
    got = []
    w = rel.error(handle(server), lambda: got.append("error"))
    rel.timeout(0.02, _reset, client)
    expired = []
    bound = rel.timeout(5, lambda: expired.append(1) or rel.abort())
    rel.timeout(0.03, lambda: bound.delete() if got else True)  # ends dispatch() once it fired
    rel.dispatch()
    assert not expired
    assert got == ["error"]
    assert not w.pending()  # falsy return: deleted


def test_error_watcher_quiet_without_error(rel, tcp_pair, guard):
    """Data waiting on a socket with only an error watcher is not an error."""
    client, server = tcp_pair()
    got = []
    rel.error(server, lambda: got.append("error") or True)
    client.sendall(b"data for nobody")
    g = guard()
    rel.timeout(0.2, rel.abort)
    rel.dispatch()
    assert got == []
    assert not g.expired


def test_error_and_read_watchers_on_reset(rel, tcp_pair, handle):
    client, server = tcp_pair()
    got = []

    def on_read():
        try:
            got.append(("read", server.recv(100)))
        except ConnectionResetError:
            got.append(("read", "reset"))
        return False

    rel.read(handle(server), on_read)
    rel.error(handle(server), lambda: got.append(("error",)))
    rel.timeout(0.02, _reset, client)
    expired = []
    bound = rel.timeout(5, lambda: expired.append(1) or rel.abort())
    rel.timeout(0.03, lambda: bound.delete() if len(got) >= 2 else True)
    rel.dispatch()  # ends when both fired (falsy returns) and the bound is gone
    assert not expired
    assert ("error",) in got
    assert any(entry[0] == "read" for entry in got)


def test_write_watcher_waits_for_room(rel, socks, handle, settle):
    a, b = socks()
    sent = 0
    try:
        while True:
            sent += a.send(b"x" * 65536)
    except BlockingIOError:
        pass
    got = []
    drained = []

    def drain():
        total = 0
        try:
            while True:
                total += len(b.recv(1 << 20))
        except BlockingIOError:
            pass
        drained.append(total)

    rel.write(handle(a), lambda: got.append(len(drained)))
    rel.timeout(0.1, drain)
    settle()
    assert got == [1], "the write watcher fired before there was room"
    assert drained and drained[0] == sent


def test_read_and_write_on_one_fd(rel, socks, handle):
    a, b = socks()
    b.send(b"ping")
    got = []
    r = rel.read(handle(a), lambda: got.append(("r", a.recv(10))))
    w = rel.write(handle(a), lambda: got.append(("w",)))
    assert rel.report()["reads"] == 1 and rel.report()["writes"] == 1
    rel.dispatch()
    assert sorted(got) == [("r", b"ping"), ("w",)]
    assert not r.pending() and not w.pending()


@pytest.mark.parametrize("armed_from", ["outside the loop", "a callback"])
def test_newest_watcher_of_a_kind_wins(rel, socks, handle, armed_from):
    """As rel: one watcher per kind and fd (from a callback too, where a
    watcher joining its socket's others may take the engine's direct path,
    which must not be taken by one that replaces another)."""
    a, b = socks()
    got = []
    seen = []
    first = rel.read(handle(a), lambda: got.append("first"))
    rel.error(handle(a), lambda: got.append("error"))  # another kind on the fd, all along

    def arm_second():
        second = rel.read(handle(a), lambda: got.append("second") or a.recv(10) and None)
        seen.append((first.pending(), second.pending(), rel.report()["reads"]))
        b.send(b"x")

    if armed_from == "a callback":
        rel.timeout(0, arm_second)
    else:
        arm_second()
    rel.timeout(0.2, rel.abort)  # the error watcher stays: abort() ends it
    rel.dispatch()
    assert seen == [(False, True, 1)]
    assert got == ["second"]


def test_reading_and_writing_turned_over_in_callbacks(rel, socks, handle):
    """What a server does for every request, from its callbacks: writing on
    and reading off, then back (the engine's direct arm and disarm paths),
    each arm beside the fd's two other watchers. Each step is seen at once in
    pending() and report(), every watcher keeps firing, the error watcher
    too once the peer hangs up, and dispatch() ends by itself after it."""
    a, b = socks()
    rounds = 3
    log = []

    def state():
        r = rel.report()
        return reader.pending(), writer.pending(), r["reads"], r["writes"], r["errors"]

    def on_read():
        data = a.recv(10)
        log.append(("read", data))
        if not data:  # the hang-up wakes readers too: reading off for good
            return None
        writer.add()
        log.append(("armed writer",) + state())
        return None  # reading off, by the return value (as dez's)

    def on_write():
        a.send(b"r")
        if len([e for e in log if e[0] == "read"]) < rounds:
            reader.add()
            log.append(("armed reader",) + state())
            b.send(b"q")  # the next request
        else:
            b.close()  # the last response: the peer hangs up
        writer.delete()
        log.append(("wrote",) + state())
        return True  # ignored: the callback deleted its own watcher

    def on_error():
        log.append(("error",) + state())
        errors.delete()

    errors = rel.error(handle(a), on_error)
    writer = rel.write(handle(a), on_write)
    writer.delete()
    reader = rel.read(handle(a), on_read)
    b.send(b"q")
    dispatch_to_end(rel)  # by itself: nothing is left
    one = [("read", b"q"), ("armed writer", True, True, 1, 1, 1)]
    turn = [("armed reader", True, True, 1, 1, 1), ("wrote", True, False, 1, 0, 1)]
    expected = (one + turn) * (rounds - 1) + one + [("wrote", False, False, 0, 0, 1)]
    # the hang-up: the error watcher's condition (it needs no reader beside it)
    assert log[:len(expected)] == expected
    assert log[len(expected):] == [("error", False, False, 0, 0, 1)]


def test_delete_one_kind_keeps_other(rel, socks, handle):
    a, b = socks()
    got = []
    r = rel.read(handle(a), lambda: got.append(a.recv(10)) or True)
    w = rel.write(handle(a), lambda: True)
    w.delete()
    b.send(b"x")
    rel.loop()
    assert got == [b"x"]
    assert r.pending() and not w.pending()
    r.delete()


@posix_fds
def test_pipe_read_and_write(rel, settle):
    r, w = os.pipe()
    try:
        got = []

        def on_writable():
            os.write(w, b"through the pipe")

        def on_readable():
            got.append(os.read(r, 100))

        rel.write(w, on_writable)
        rel.read(r, on_readable)
        settle()
        assert got == [b"through the pipe"]
    finally:
        os.close(r)
        os.close(w)


def test_many_fds(rel, socks):
    pairs = [socks() for _ in range(200)]
    got = []
    for i, (a, _) in enumerate(pairs):
        rel.read(a, lambda i=i, a=a: got.append((i, a.recv(10))))
    assert rel.report()["reads"] == 200
    for i, (_, b) in enumerate(pairs):
        if i % 3 == 0:
            b.send(b"%d" % i)
    rel.loop()
    assert sorted(got) == [(i, b"%d" % i) for i in range(0, 200, 3)]
    assert rel.report()["reads"] == 200 - len(got)
    rel.abort()
    assert rel.report()["reads"] == 0


def test_ping_pong(rel, socks, handle):
    """A socket round trip, many times: read, answer, repeat."""
    a, b = socks()
    rounds = []

    def on_a():
        data = a.recv(100)
        a.send(data)
        return True

    def on_b():
        data = b.recv(100)
        rounds.append(data)
        if len(rounds) == 100:
            rel.abort()
            return False
        b.send(data)
        return True

    rel.read(handle(a), on_a)
    rel.read(handle(b), on_b)
    b.send(b"ball")
    rel.timeout(10, rel.abort)
    rel.dispatch()
    assert len(rounds) == 100
    assert set(rounds) == {b"ball"}
    rel.init()


# select() has no "error only" interest, and the selectors module speaks only
# readable/writable: a registrar built on them must stop polling an error-only fd
# that holds unread data (level-triggered readability would spin the loop), so a
# reset arriving after that goes unseen. Known, documented limitation. The asyncio
# registrar has only add_reader/add_writer, and shares the portable one's probe.
ERROR_BLIND_WHILE_DATA_WAITS = ("selectors", "select", "asyncio")


def test_error_watcher_fires_on_reset_after_unread_data(rel, tcp_pair, guard, request):
    """Data nobody reads is waiting when the peer resets: still an error."""
    blind = facade.method in ERROR_BLIND_WHILE_DATA_WAITS
    if blind:
        # strict: the day such a registrar sees the reset, this XPASS fails the
        # run, and the registrar leaves the list.
        request.applymarker(pytest.mark.xfail(reason="registrar cannot watch errors alone", strict=True))
    client, server = tcp_pair()
    got = []
    rel.error(server, lambda: got.append("error") or rel.abort())
    client.sendall(b"data for nobody")
    g = guard(0.5 if blind else 2)
    rel.timeout(0.05, _reset, client)
    rel.dispatch()
    assert got == ["error"]
    assert not g.expired
