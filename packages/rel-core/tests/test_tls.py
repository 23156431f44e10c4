"""TLS sockets: bytes decrypted inside an ``ssl.SSLSocket`` are the engine's
to see (DESIGN.md, engine rule 6).

The kernel knows nothing of them: a TLS record holding many small messages
reaches the socket in one piece, a read of a few bytes decrypts the whole
record into OpenSSL's buffer, and epoll, poll, select and asyncio's loop then
report nothing more, though ``pending()`` says bytes wait. A read watcher (or
an ``event()`` with EV_READ) whose callback leaves such bytes runs again in
the next pass, without waiting, for as long as it is armed and bytes are
pending; once they are read, the loop waits in the poller again.

Acceptable: a TLS reader run once more than needed (its recv then raises
SSLWantReadError, as on any spurious readiness). Not acceptable: bytes left
waiting for the network to speak again, a reader that was deleted or returned
falsy run again, a loop that spins once everything is read.
"""

from __future__ import annotations

import ssl
from typing import Any, List

import pytest

from relcore_testing import Guard, dispatch_to_end
from tls_testing import contexts, make_certificate, needs_openssl, tls_pair

pytestmark = needs_openssl

MESSAGE = b"m%02d:" + b"x" * 16  # 20 bytes; 50 of them fit in one TLS record


@pytest.fixture(scope="module")
def tls_contexts(tmp_path_factory: Any) -> Any:
    return contexts(*make_certificate(str(tmp_path_factory.mktemp("tls"))))


@pytest.fixture
def pair(tls_contexts: Any) -> Any:
    made: List[ssl.SSLSocket] = []

    def make() -> Any:
        server, client = tls_pair(*tls_contexts)
        made.extend((server, client))
        return server, client

    yield make
    for s in made:
        s.close()


def messages(n: int = 50) -> List[bytes]:
    return [MESSAGE % i for i in range(n)]


def send_all(sock: ssl.SSLSocket, data: bytes) -> None:
    """All of ``data`` through a non-blocking SSLSocket, in one TLS record
    when it fits in one (a single write of OpenSSL)."""
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view):]
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            pass


def read_some(sock: ssl.SSLSocket, into: bytearray, size: int = 64) -> None:
    try:
        into += sock.recv(size)
    except (ssl.SSLWantReadError, BlockingIOError):
        pass  # a readiness with nothing to decrypt yet


class Reader:
    """A read watcher on ``client`` that reads 64 bytes a callback and ends
    the loop once ``expected`` has come; ``each()``, if given, runs first in
    every callback. ``run()``: dispatch, bounded, and check every byte came,
    in order."""

    def __init__(self, rel: Any, client: ssl.SSLSocket, expected: bytes, each: Any = None) -> None:
        self.rel, self.client, self.expected, self.each = rel, client, expected, each
        self.got = bytearray()

    def on_read(self) -> bool:
        if self.each is not None:
            self.each()
        read_some(self.client, self.got)
        if len(self.got) >= len(self.expected):
            self.rel.abort()
        return True

    def run(self) -> None:
        guard = Guard(self.rel, 5.0)
        self.rel.dispatch()
        assert not guard.expired, "got %d of %d bytes; the rest stayed pending in the SSLSocket" % (
            len(self.got), len(self.expected))
        assert bytes(self.got) == self.expected


def test_many_messages_in_one_tls_record_all_arrive(rel: Any, pair: Any) -> None:
    server, client = pair()
    expected = b"".join(messages())
    send_all(server, expected)  # one write: one record; then the server says nothing more
    calls = []
    reader = Reader(rel, client, expected, lambda: calls.append(1))
    rel.read(client, reader.on_read)
    reader.run()
    assert len(calls) >= len(expected) // 64  # one 64-byte read a callback: many passes, no wait


def test_messages_in_a_record_each_all_arrive(rel: Any, pair: Any) -> None:
    server, client = pair()
    records = [m * 5 for m in messages()]  # 100 bytes a record, read 64 at a time
    for record in records:
        send_all(server, record)
    reader = Reader(rel, client, b"".join(records))
    rel.read(client, reader.on_read)
    reader.run()


def test_event_with_ev_read_gets_pending_bytes(rel: Any, pair: Any) -> None:
    server, client = pair()
    expected = b"".join(messages())
    send_all(server, expected)
    got = bytearray()

    def on_event(ev: Any, handle: Any, fired: int, arg: Any) -> None:
        assert fired == rel.EV_READ and handle is client
        read_some(client, got)
        if len(got) >= len(expected):
            rel.abort()

    rel.event(on_event, None, rel.EV_READ | rel.EV_PERSIST, client).add()
    guard = Guard(rel, 5.0)
    rel.dispatch()
    assert not guard.expired, "got %d of %d bytes" % (len(got), len(expected))
    assert bytes(got) == expected


def test_non_persistent_event_added_again_by_its_callback(rel: Any, pair: Any) -> None:
    """pyevent's way: a one-shot EV_READ event whose callback adds it again."""
    server, client = pair()
    expected = b"".join(messages())
    send_all(server, expected)
    got = bytearray()

    def on_event(ev: Any, handle: Any, fired: int, arg: Any) -> None:
        read_some(client, got)
        if len(got) < len(expected):
            ev.add()

    rel.event(on_event, None, rel.EV_READ, client).add()
    dispatch_to_end(rel)  # ends by itself once the event is not added again
    assert bytes(got) == expected


def test_reader_that_returns_falsy_is_not_run_again(rel: Any, pair: Any) -> None:
    server, client = pair()
    send_all(server, b"".join(messages()))
    calls = []

    ticks = []

    def on_read() -> bool:
        calls.append(client.recv(64))
        ticks.append(rel.tick())
        rel.timeout(0.2, lambda: ticks.append(rel.tick()))
        return False

    r = rel.read(client, on_read)
    dispatch_to_end(rel)  # the timer's pass, then nothing left armed
    assert len(calls) == 1 and client.pending() > 0
    assert not r.pending()
    assert ticks[1] - ticks[0] == 1, "a pass for a reader that had stopped"


def test_reader_that_deletes_itself_is_not_carried(rel: Any, pair: Any) -> None:
    """Its own delete() with bytes pending: the loop does not come back for it
    (not even a pass that finds nothing to run)."""
    server, client = pair()
    send_all(server, b"".join(messages()))
    ticks = []
    watchers = {}

    def on_read() -> bool:
        client.recv(64)
        ticks.append(rel.tick())
        watchers["r"].delete()
        rel.timeout(0.2, lambda: ticks.append(rel.tick()))
        return True  # ignored: the callback deleted its watcher itself

    watchers["r"] = rel.read(client, on_read)
    dispatch_to_end(rel)
    assert len(ticks) == 2 and client.pending() > 0
    assert ticks[1] - ticks[0] == 1, "a pass for a reader that had stopped"


def test_reader_deleted_by_an_earlier_callback_is_not_run(rel: Any, pair: Any) -> None:
    server, client = pair()
    send_all(server, b"".join(messages()))
    calls = []
    watchers = {}

    def on_read() -> bool:
        calls.append(client.recv(64))
        # The next pass would run it (bytes pending): a timer of this pass deletes it first.
        rel.timeout(0, watchers["r"].delete)
        return True

    watchers["r"] = rel.read(client, on_read)
    dispatch_to_end(rel)
    assert len(calls) == 1 and client.pending() > 0


def test_loop_waits_again_once_pending_bytes_are_read(rel: Any, pair: Any) -> None:
    """No spinning: with nothing pending, a TLS reader costs no pass."""
    server, client = pair()
    expected = b"".join(messages())
    send_all(server, expected)
    got = bytearray()
    ticks = {}

    def on_read() -> bool:
        read_some(client, got)
        if len(got) >= len(expected) and "done" not in ticks:
            ticks["done"] = rel.tick()
            rel.timeout(0.3, finish)
        return True

    def finish() -> None:
        ticks["after"] = rel.tick()
        rel.abort()

    rel.read(client, on_read)
    guard = Guard(rel, 5.0)
    rel.dispatch()
    assert not guard.expired
    # The pass that read the last bytes, then the timer's: no pass between
    # (nothing is carried once nothing is pending).
    assert ticks["after"] - ticks["done"] == 1, ticks


def test_reader_raising_abort_branch_still_gets_pending_bytes(rel: Any, pair: Any) -> None:
    server, client = pair()
    expected = b"".join(messages())
    send_all(server, expected)
    got = bytearray()

    def on_read() -> bool:
        read_some(client, got)
        if len(got) >= len(expected):
            rel.abort()
        rel.abort_branch()  # ends this callback only: the watcher stays armed
        return True  # pragma: no cover

    rel.read(client, on_read)
    guard = Guard(rel, 5.0)
    rel.dispatch()
    assert not guard.expired, "got %d of %d bytes" % (len(got), len(expected))
    assert bytes(got) == expected


def test_reader_runs_once_a_pass_when_the_poller_reports_it_too(rel: Any, pair: Any) -> None:
    """Records read in parts: after a partial read the reader is carried
    with bytes pending, while the kernel holds more records and the poller
    reports the fd readable too. It still runs once in that pass."""
    server, client = pair()
    records = [m * 5 for m in messages()]
    for record in records:
        send_all(server, record)
    ticks: List[int] = []
    reader = Reader(rel, client, b"".join(records), lambda: ticks.append(rel.tick()))
    rel.read(client, reader.on_read)
    reader.run()
    assert len(ticks) == len(set(ticks)), "a reader ran twice in one pass"


def test_reader_beside_a_writer_of_its_socket_gets_pending_bytes(rel: Any, pair: Any) -> None:
    """The next pass finds the fd writable only (a writer on the same socket):
    the carried reader still runs in it, though the poller says nothing of
    reading, and nothing else would ever bring it back."""
    server, client = pair()
    expected = b"".join(messages())
    send_all(server, expected)
    writes = []
    reader = Reader(rel, client, expected)
    rel.read(client, reader.on_read)
    rel.write(client, lambda: writes.append(1) or True)  # always writable: every pass, sends nothing
    reader.run()
    assert writes


def test_carried_reader_moves_with_a_switch_of_registrar(rel: Any, pair: Any, monkeypatch: Any) -> None:
    """initialize() again between two loop() calls, a TLS reader carried with
    bytes pending: the new registrar runs it without waiting for the network."""
    from test_behaviour import _install_switch_target

    import rel_core.rel as facade

    server, client = pair()
    expected = b"".join(messages())
    send_all(server, expected)
    reader = Reader(rel, client, expected)
    rel.read(client, reader.on_read)
    guard = Guard(rel, 5.0)
    while not reader.got:
        rel.loop()  # the first read: the rest is decrypted, pending, carried
    guard.cancel()
    _install_switch_target(monkeypatch, type(facade.registrar))
    assert rel.initialize(["switched"], ["strict"]) == "switched"
    reader.run()
