"""BuffWriter over real sockets: order, partial sends, big payloads, errors,
release, threads, and the cost of a payload (counted, never timed).

Every loop runs under ``run(limit)``: a rel timer aborts it and fails the test
after ``limit`` seconds, and conftest's faulthandler kills a hard hang.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import random
import socket
import struct
import threading
import time
import tracemalloc
from typing import Any, List, Optional

import pytest
import rel_core as rel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_util import buff
from rel_util.buff import CHUNK, BuffWriter, buffwrite, release_buff, writer_of


def capped(limit: int, log: Optional[List[Any]] = None):
    """A sender that sends at most ``limit`` bytes per call, as socket.send
    may, and records each chunk it is offered."""

    def send(sock: socket.socket, chunk: memoryview) -> int:
        if log is not None:
            log.append(chunk)
        return sock.send(chunk[:limit])

    return send


def plain(sock: socket.socket, chunk: memoryview) -> int:
    return sock.send(chunk)


def reset_peer(sock: socket.socket) -> None:
    """Close ``sock`` so that its peer gets a TCP RST (SO_LINGER 0)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


ERROR_TEXTS = {os.strerror(errno.ECONNRESET), os.strerror(errno.EPIPE)}


# -- order and partial sends ------------------------------------------------------------

def test_partial_sends_lose_and_reorder_nothing(pair, run, drain):
    a, b = pair
    rng = random.Random(4)
    pieces = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 5000))) for _ in range(200)]
    expected = b"".join(pieces)
    errors: List[str] = []
    for piece in pieces:
        buffwrite(a, piece, capped(1000), errors.append)
    d = drain(b, len(expected))
    run()
    assert bytes(d.data) == expected
    assert errors == []
    assert writer_of(a).queued == 0


def test_random_partial_sizes_zero_and_would_block(pair, run, drain):
    """The sender takes a random part, sometimes 0, sometimes raises
    BlockingIOError: each means "try the rest later", never "drop it"."""
    a, b = pair
    rng = random.Random(7)
    payload = os.urandom(300_000)

    def moody(sock, chunk):
        roll = rng.random()
        if roll < 0.1:
            return 0
        if roll < 0.2:
            raise BlockingIOError(errno.EAGAIN, "try again")
        return sock.send(chunk[: rng.randrange(1, len(chunk) + 1)])

    errors: List[str] = []
    for i in range(0, len(payload), 7001):
        buffwrite(a, payload[i:i + 7001], moody, errors.append)
    d = drain(b, len(payload))
    run()
    assert bytes(d.data) == payload
    assert errors == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.binary(min_size=0, max_size=3000), min_size=1, max_size=30),
       limits=st.lists(st.integers(min_value=1, max_value=4096), min_size=1, max_size=20))
def test_property_every_byte_in_order(run, pieces, limits):
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    try:
        turn = iter(limits * 10_000)

        def send(sock, chunk):
            return sock.send(chunk[: next(turn)])

        errors: List[str] = []
        for piece in pieces:
            buffwrite(a, piece, send, errors.append)
        expected = b"".join(pieces)
        received = bytearray()

        def on_read():
            received.extend(b.recv(65536))
            if len(received) >= len(expected):
                rel.abort()
                return False
            return True

        if expected:
            rel.read(b, on_read)
            run()
        assert bytes(received) == expected
        assert errors == []
    finally:
        release_buff(a)
        a.close()
        b.close()


def test_sender_returning_none_means_all_sent(pair, run, drain):
    a, b = pair

    def sendall(sock, chunk):
        sock.setblocking(True)
        try:
            sock.sendall(chunk)
        finally:
            sock.setblocking(False)

    buffwrite(a, b"hello ", sendall, print)
    buffwrite(a, b"world", sendall, print)
    d = drain(b, 11)
    run()
    assert bytes(d.data) == b"hello world"


def test_str_bytearray_and_memoryview_data(pair, run, drain):
    """str is sent as UTF-8; mutable buffers are copied at once, so the
    caller may reuse them."""
    a, b = pair
    scratch = bytearray(b"mutable")
    buffwrite(a, "h\u00e9llo ", plain, print)
    buffwrite(a, scratch, plain, print)
    scratch[:] = b"CHANGED"
    buffwrite(a, memoryview(b" view"), plain, print)
    buffwrite(a, b"", plain, print)
    expected = "h\u00e9llo ".encode() + b"mutable view"
    d = drain(b, len(expected))
    run()
    assert bytes(d.data) == expected


def test_rejects_data_that_is_not_bytes_like(pair):
    with pytest.raises(TypeError):
        buffwrite(pair[0], 12345, plain, print)


def test_one_writer_per_socket(pair):
    a, _ = pair
    buffwrite(a, b"x", plain, print)
    first = writer_of(a)
    buffwrite(a, b"y", plain, print)
    assert writer_of(a) is first
    assert first.queued == 2


# -- big payloads -----------------------------------------------------------------------

def test_16_mib_arrives_intact(pair, run, drain):
    a, b = pair
    payload = os.urandom(1 << 20) * 16
    buffwrite(a, payload, plain, print)
    d = drain(b, len(payload))
    run(30)
    assert len(d.data) == len(payload)
    assert hashlib.sha256(d.data).digest() == hashlib.sha256(payload).digest()


# -- cost: counted, not timed ------------------------------------------------------------

@pytest.mark.parametrize("mib", [1, 4, 16])
def test_sender_calls_grow_linearly(pair, run, drain, mib):
    """A sender that takes 1000 bytes a call is called exactly ceil(N/1000)
    times, each time with a view into the caller's own bytes (no copy, no
    re-slicing of the rest), at most CHUNK long."""
    a, b = pair
    payload = bytes(mib << 20)
    offered: List[memoryview] = []
    buffwrite(a, payload, capped(1000, offered), print)
    d = drain(b, len(payload))
    run(30)
    assert len(d.data) == len(payload)
    assert len(offered) == -(-len(payload) // 1000)
    assert all(view.obj is payload for view in offered)
    assert max(len(view) for view in offered) <= CHUNK


def test_queueing_copies_nothing(pair):
    """16 MiB of bytes queued: the writer allocates next to nothing."""
    a, _ = pair
    payload = bytes(16 << 20)
    tracemalloc.start()
    try:
        buffwrite(a, payload, plain, print)
        buffwrite(a, payload, plain, print)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024
    assert writer_of(a).queued == 2 * len(payload)


def test_str_is_copied_once(pair):
    a, _ = pair
    text = "x" * (4 << 20)
    tracemalloc.start()
    try:
        buffwrite(a, text, plain, print)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(text) <= peak < len(text) + 256 * 1024


# -- errors ---------------------------------------------------------------------------------

def test_reset_peer_reports_once_with_the_sockets_text(tcp_pair, run):
    client, server = tcp_pair
    reset_peer(server)
    errors: List[str] = []
    buffwrite(client, b"x" * 100_000, plain, errors.append)
    run()  # ends by itself: the failed writer leaves nothing registered
    buffwrite(client, b"more", plain, errors.append)  # dropped: reported once
    run()
    assert len(errors) == 1
    assert errors[0].startswith("write error: [Errno ")
    assert any(text in errors[0] for text in ERROR_TEXTS), errors
    writer = writer_of(client)
    assert writer.error == errors[0] and writer.queued == 0
    assert rel.report()["writes"] == 0


def test_reset_in_the_middle_of_a_transfer(tcp_pair, run):
    """The peer reads a little, then resets: onerror once, no exception out
    of dispatch(), nothing left queued or registered."""
    client, server = tcp_pair
    errors: List[str] = []
    got = bytearray()

    def on_read():
        try:
            got.extend(server.recv(65536))
        except BlockingIOError:
            return True
        if len(got) >= 200_000:
            reset_peer(server)
            return False
        return True

    rel.read(server, on_read)
    buffwrite(client, os.urandom(8 << 20), plain, errors.append)
    run()
    assert len(errors) == 1 and any(t in errors[0] for t in ERROR_TEXTS), errors
    assert writer_of(client).queued == 0
    assert rel.report()["writes"] == 0


def test_peer_closed_socketpair_is_a_broken_pipe(pair, run):
    a, b = pair
    b.close()
    errors: List[str] = []
    buffwrite(a, b"hello", plain, errors.append)
    run()
    assert errors == ["write error: [Errno %d] %s" % (errno.EPIPE, os.strerror(errno.EPIPE))]


def test_closed_socket_reports_once_never_raises(run):
    a, b = socket.socketpair()
    a.close()
    errors: List[str] = []
    buffwrite(a, b"hello", plain, errors.append)  # no exception here...
    buffwrite(a, b"again", plain, errors.append)
    assert errors == []  # ...and onerror runs from the loop, not inside buffwrite
    run()
    assert len(errors) == 1 and os.strerror(errno.EBADF) in errors[0]
    b.close()


def test_socket_closed_while_data_is_queued(pair, run):
    a, b = pair
    errors: List[str] = []
    buffwrite(a, b"queued but never sent", plain, errors.append)
    a.close()
    buffwrite(a, b"next", plain, errors.append)
    run()
    assert len(errors) == 1 and os.strerror(errno.EBADF) in errors[0]
    assert writer_of(a).queued == 0
    assert rel.report()["writes"] == 0


def test_onerror_of_a_write_that_cannot_start_comes_by_a_zero_second_timer(pair, run):
    """Not from inside buffwrite(): by a 0-second timer, so it comes after a
    0-second timer armed before the call, before one armed after it."""
    a, _ = pair
    a.close()
    order: List[str] = []
    rel.timeout(0, order.append, "armed before")
    buffwrite(a, b"x", plain, order.append)
    assert order == []
    rel.timeout(0, order.append, "armed after")
    run()
    assert len(order) == 3 and order[0] == "armed before" and order[2] == "armed after", order
    assert os.strerror(errno.EBADF) in order[1]


def test_sender_exception_text_reaches_onerror(pair, run):
    a, _ = pair

    def broken(sock, chunk):
        raise RuntimeError("the sender's own words")

    errors: List[str] = []
    buffwrite(a, b"x", broken, errors.append)
    run()
    assert errors == ["write error: the sender's own words"]


def test_reset_while_waiting_for_writability(tcp_pair, run):
    """The socket's buffer is full and the peer reads nothing, so the writer
    waits for "writable". The peer's reset must wake it (registrars fold
    errors and hang-ups into write readiness): onerror once, with ECONNRESET's
    text, and the loop ends by itself."""
    client, server = tcp_pair
    errors: List[str] = []
    buffwrite(client, bytes(8 << 20), plain, errors.append)
    writer = writer_of(client)
    rel.loop(nonblock=True)
    rel.loop(nonblock=True)
    assert writer.queued > 0 and errors == []
    rel.timeout(0.1, reset_peer, server)
    run()
    assert len(errors) == 1 and any(t in errors[0] for t in ERROR_TEXTS), errors
    assert writer.queued == 0 and rel.report()["writes"] == 0


def test_half_closed_peer_still_gets_everything(tcp_pair, run):
    """A peer that shuts down its sending side but keeps reading (POLLRDHUP
    on our side) is no error: every byte arrives."""
    client, server = tcp_pair
    server.shutdown(socket.SHUT_WR)
    payload = os.urandom(4 << 20)
    errors: List[str] = []
    buffwrite(client, payload, plain, errors.append)
    got = bytearray()

    def on_read():
        try:
            got.extend(server.recv(1 << 20))
        except BlockingIOError:
            return True
        if len(got) >= len(payload):
            rel.abort()
            return False
        return True

    rel.read(server, on_read)
    run()
    assert bytes(got) == payload and errors == []


def test_onerror_return_value_is_ignored(run):
    """websocket-client's handler returns True: the deferred report must not
    become a repeating timer."""
    a, b = socket.socketpair()
    a.close()
    calls: List[str] = []

    def onerror(msg):
        calls.append(msg)
        return True

    buffwrite(a, b"x", plain, onerror)
    rel.timeout(0.2, rel.abort)
    run()
    assert len(calls) == 1
    b.close()


# -- release ---------------------------------------------------------------------------

def test_release_then_buffwrite_starts_clean(pair, run, drain):
    a, b = pair
    buffwrite(a, b"old data, never to be sent", plain, print)
    old = writer_of(a)
    release_buff(a)
    assert writer_of(a) is None and old.queued == 0
    assert rel.report()["writes"] == 0
    buffwrite(a, b"new", plain, print)
    assert writer_of(a) is not old
    d = drain(b, 3)
    run()
    assert bytes(d.data) == b"new"


def test_release_after_error_starts_clean(pair, run, drain):
    a, b = pair
    errors: List[str] = []

    def broken(sock, chunk):
        raise OSError(errno.EIO, "pretend")

    buffwrite(a, b"lost", broken, errors.append)
    run()
    assert errors == ["write error: [Errno 5] pretend"]
    release_buff(a)
    buffwrite(a, b"fresh", plain, errors.append)
    d = drain(b, 5)
    run()
    assert bytes(d.data) == b"fresh" and len(errors) == 1


def test_release_unknown_socket_is_harmless(pair, run, drain, caplog):
    a, b = pair
    other_a, other_b = socket.socketpair()
    try:
        other_a.setblocking(False)
        rel.set_verbose(True)
        with caplog.at_level("DEBUG", logger="rel"):
            buffwrite(other_a, b"keep", plain, print)  # queued: nothing has run yet
            release_buff(a)
            release_buff(12345)
        assert "release_buff: no writer for" in caplog.text
        assert writer_of(a) is None and writer_of(12345) is None, "release makes no writer"
        assert writer_of(other_a) is not None and writer_of(other_a).queued == 4
        d = drain(other_b, 4)
        run()
        assert bytes(d.data) == b"keep", "another socket's writer is untouched"
    finally:
        rel.set_verbose(False)
        release_buff(other_a)
        other_a.close()
        other_b.close()


def test_idle_writer_does_not_keep_its_socket_alive(run, drain):
    a, b = socket.socketpair()
    a.setblocking(False)
    buffwrite(a, b"bye", plain, print)
    d = drain(b, 3)
    run()
    assert bytes(d.data) == b"bye"
    ref = __import__("weakref").ref(a)
    a.close()
    del a
    import gc

    gc.collect()
    assert ref() is None
    b.close()


def test_int_fd_keys_work(pair, run, drain):
    a, b = pair
    buffwrite(a.fileno(), b"by fd", None, print)  # default sender: os.write
    d = drain(b, 5)
    run()
    assert bytes(d.data) == b"by fd"
    release_buff(a.fileno())
    assert writer_of(a.fileno()) is None


# -- the loop and the watchers ------------------------------------------------------------

def test_abort_deletes_the_watchers_and_the_next_write_rearms(pair, run, drain):
    a, b = pair
    buffwrite(a, b"first ", plain, print)
    rel.abort()  # as websocket-client's SIGINT handler would
    assert rel.report()["writes"] == 0
    buffwrite(a, b"second", plain, print)
    d = drain(b, 12)
    run()
    assert bytes(d.data) == b"first second"


def test_fast_path_from_the_loop_thread_keeps_order(pair, run, drain):
    """From a callback, with nothing queued, buffwrite sends at once; with
    something queued, it queues behind it."""
    a, b = pair
    calls: List[bytes] = []

    def send(sock, chunk):
        calls.append(bytes(chunk))
        return sock.send(chunk)

    buffwrite(a, b"warm ", send, print)  # through the watcher: learns the loop thread
    seen: List[int] = []

    def later():
        buffwrite(a, b"now ", send, print)
        seen.append(len(calls))  # sent inside buffwrite
        buffwrite(a, b"x" * (CHUNK * 3), send, print)  # big: queued
        buffwrite(a, b"tail", send, print)  # behind it
        seen.append(len(calls))

    rel.timeout(0.05, later)
    d = drain(b, 5 + 4 + CHUNK * 3 + 4)
    run()
    assert bytes(d.data) == b"warm now " + b"x" * (CHUNK * 3) + b"tail"
    assert seen == [2, 2]


def test_buffwrite_from_other_threads_while_the_loop_runs(pair, run):
    """Two threads write numbered records while the main thread runs the
    loop: every record arrives whole, each thread's in its order."""
    a, b = pair
    per_thread = 400
    record = struct.Struct("!II")
    sizes = [1, 10, 100, 5000, 70_000]
    expected_total = 0
    plan = {}
    for tid in (1, 2):
        plan[tid] = [sizes[(i * 7 + tid) % len(sizes)] for i in range(per_thread)]
        expected_total += sum(record.size + s for s in plan[tid])
    received = bytearray()

    def on_read():
        while True:
            try:
                chunk = b.recv(1 << 20)
            except BlockingIOError:
                return True
            received.extend(chunk)
            if len(received) >= expected_total:
                rel.abort()
                return False

    def worker(tid):
        for seq, size in enumerate(plan[tid]):
            body = bytes([tid]) * size
            buffwrite(a, record.pack(tid, seq) + body, capped(3000), print)

    rel.read(b, on_read)
    threads = [threading.Thread(target=worker, args=(tid,)) for tid in (1, 2)]
    rel.timeout(0.01, lambda: [t.start() for t in threads] and None)
    run(30)
    for t in threads:
        t.join(5)
    pos, last = 0, {1: -1, 2: -1}
    while pos < len(received):
        tid, seq = record.unpack_from(received, pos)
        size = plan[tid][seq]
        body = received[pos + record.size:pos + record.size + size]
        assert seq == last[tid] + 1 and body == bytes([tid]) * size
        last[tid] = seq
        pos += record.size + size
    assert last == {1: per_thread - 1, 2: per_thread - 1}


def test_buffwrite_from_another_thread_wakes_the_blocked_loop(pair, run, drain):
    """The loop blocks with no timer at all (only a reader waiting for the
    data); a thread's buffwrite must wake it to arm the writer."""
    a, b = pair
    d = drain(b, 5)
    blocked = threading.Event()

    def writer() -> None:
        blocked.wait(5)
        time.sleep(0.1)  # the loop is in its poller wait by now, with nothing due
        buffwrite(a, b"woken", plain, print)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    rel.timeout(0, blocked.set)  # runs once dispatch() owns the loop
    run(5)
    t.join(5)
    assert bytes(d.data) == b"woken"


def test_loop_in_another_thread(pair):
    """The loop runs in a worker thread; the main thread writes."""
    a, b = pair
    payload = os.urandom(2 << 20)
    got = bytearray()
    done = threading.Event()

    def on_read():
        try:
            got.extend(b.recv(1 << 20))
        except BlockingIOError:
            return True
        if len(got) >= len(payload):
            done.set()
            rel.abort()
            return False
        return True

    rel.read(b, on_read)
    # The safety net is a thread: a rel timer would bound the loop's waits
    # and hide a buffwrite that failed to wake it.
    safety = threading.Timer(20, rel.abort)
    safety.daemon = True
    safety.start()
    loop = threading.Thread(target=rel.dispatch, daemon=True)
    loop.start()
    deadline = time.monotonic() + 5
    while not rel.is_running() and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.05)  # blocked in its wait: the first buffwrite must wake it
    for i in range(0, len(payload), 100_000):
        buffwrite(a, payload[i:i + 100_000], plain, print)
    assert done.wait(20)
    loop.join(5)
    safety.cancel()
    assert not loop.is_alive()
    assert bytes(got) == payload


def test_constructing_a_buffwriter_directly(pair, run, drain):
    a, b = pair
    writer = BuffWriter(a, b"compat", None, None)
    d = drain(b, 6)
    run()
    assert bytes(d.data) == b"compat"
    writer.release()
    assert "released" in repr(writer)


def test_one_write_event_sends_at_most_a_burst(pair, run):
    """A sender that always takes whole chunks does not keep the loop to
    itself: after BURST bytes the write event ends and other callbacks run
    (a reader here, ready all along), then the writer goes on."""
    a, b = pair
    total = 4 * buff.BURST
    order: List[str] = []
    per_call: List[int] = []

    def take_all(sock: socket.socket, chunk: memoryview) -> int:
        order.append("send")
        per_call.append(chunk.nbytes)
        return chunk.nbytes  # pretends the kernel took it all

    def on_read() -> bool:
        order.append("read")
        writer = writer_of(a)
        return writer is not None and writer.queued > 0  # until all is sent

    b.send(b"x")  # a's reader is ready at every pass
    rel.read(a, on_read)
    buffwrite(a, bytes(total), take_all, print)
    run()
    assert sum(per_call) == total and max(per_call) <= CHUNK
    sends_per_event = [len(run_) for run_ in "".join("s" if o == "send" else " " for o in order).split()]
    assert max(sends_per_event) * CHUNK <= buff.BURST, "one write event sent more than BURST bytes"
    assert len(sends_per_event) >= total // buff.BURST


def test_chunk_constants_are_sane():
    assert 0 < buff.CHUNK <= buff.BURST


@pytest.mark.parametrize("method", ["epoll", "poll", "select", "selectors", "kqueue"])
def test_socket_closed_by_the_application_with_data_queued_and_no_more_writes(method, monkeypatch):
    """Issue 14, defect 7: nobody writes again, so only the engine can find
    out; onerror runs once, the data is let go, and dispatch() ends."""
    import rel_core.registrar
    import rel_core.rel as facade

    before = facade.method
    try:
        rel.initialize([method], ["strict"])
    except ImportError as exc:
        pytest.skip(str(exc))
    monkeypatch.setattr(rel_core.registrar, "IDLE_AUDIT", 0.05, raising=False)
    a, b = socket.socketpair()
    a.setblocking(False)
    errors: List[str] = []
    try:
        buffwrite(a, b"x" * (10 << 20), None, errors.append)  # more than the socket takes
        for _ in range(3):
            rel.loop(True)
        writer = writer_of(a)
        assert writer.queued > 0
        a.close()  # by the application, with data queued
        t = threading.Thread(target=rel.dispatch, daemon=True)
        t.start()
        t.join(5)
        hung = t.is_alive()
        if hung:
            rel.abort()
            t.join(5)
        assert not hung, "dispatch() kept waiting for a closed fd"
        assert len(errors) == 1 and os.strerror(errno.EBADF) in errors[0]
        assert writer.queued == 0 and rel.report()["writes"] == 0
    finally:
        a.close()
        b.close()
        rel.init()
        if before is not None:
            rel.initialize([before])


# -- the fast path's partial sends, and other edges (each written against a change
# to buff.py that the suite used to survive: see tests/mutation/) -----------------
def loop_thread_sender(log: List[Any], script: List[Any]) -> Any:
    """A sender recording (thread, size) per call; while ``script`` has
    entries, each call does what the next one says instead of sending:
    an int (that many bytes "taken"), or an exception to raise."""

    def send(sock, chunk):
        log.append((threading.get_ident(), chunk.nbytes))
        if script:
            step = script.pop(0)
            if isinstance(step, BaseException):
                raise step
            return sock.send(chunk[:step]) if step else 0
        return sock.send(chunk)

    return send


@pytest.mark.parametrize("first", [3, 0, BlockingIOError()], ids=["part", "none", "would-block"])
def test_fast_path_send_of_part_or_nothing_queues_exactly_the_rest(pair, run, drain, first):
    a, b = pair
    log: List[Any] = []
    script: List[Any] = []
    send = loop_thread_sender(log, script)
    errors: List[str] = []
    buffwrite(a, b"w", send, errors.append)  # through the watcher: learns the loop thread
    queued_after: List[int] = []

    def in_loop():
        script.append(first)
        buffwrite(a, b"0123456789", send, errors.append)  # the fast path
        queued_after.append(writer_of(a).queued)

    rel.timeout(0.05, in_loop)
    d = drain(b, 11)
    run()
    assert bytes(d.data) == b"w0123456789"
    assert errors == []
    assert queued_after == [10 - (first if isinstance(first, int) else 0)]
    assert 0 not in [n for _, n in log], "the sender was offered an empty chunk"


def test_fast_path_whole_send_queues_nothing(pair, run):
    a, b = pair
    log: List[Any] = []
    send = loop_thread_sender(log, [])
    buffwrite(a, b"w", send, print)
    queued_after: List[int] = []
    got = bytearray()

    def in_loop():
        buffwrite(a, b"0123456789", send, print)
        queued_after.append(writer_of(a).queued)

    def on_read():  # no abort: run() ends once the writer deleted its watcher
        got.extend(b.recv(100))
        return len(got) < 11

    rel.timeout(0.05, in_loop)
    rel.read(b, on_read)
    run()
    assert bytes(got) == b"w0123456789"
    assert queued_after == [0]
    assert [n for _, n in log] == [1, 10], "after a whole send, nothing more is offered"


def test_the_sender_runs_only_in_the_loop_thread(pair, run, drain):
    """buffwrite from other threads while the loop runs: the sender is still
    called from the loop's thread only (the fast path is the loop's)."""
    a, b = pair
    log: List[Any] = []
    send = loop_thread_sender(log, [])
    buffwrite(a, b"w", send, print)  # learns the loop thread

    def writer():
        for _ in range(50):
            buffwrite(a, b"t", send, print)
            time.sleep(0.001)

    threads = [threading.Thread(target=writer)]
    rel.timeout(0.02, lambda: [t.start() for t in threads] and None)
    d = drain(b, 51)
    run()
    for t in threads:
        t.join(5)
    assert bytes(d.data) == b"w" + b"t" * 50
    assert {ident for ident, _ in log} == {threading.get_ident()}


def test_a_writer_released_directly_is_replaced_at_the_next_buffwrite(pair, run, drain):
    a, b = pair
    buffwrite(a, b"one ", plain, print)
    old = writer_of(a)
    old.release()  # not release_buff(): the table still holds it
    buffwrite(a, b"two", plain, print)
    assert writer_of(a) is not old
    d = drain(b, 3)
    run()
    assert bytes(d.data) == b"two"


def test_an_int_fd_closed_before_the_write_reports_it(run):
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    errors: List[str] = []
    buffwrite(w, b"data", None, errors.append)  # never raises
    rel.timeout(0.05, lambda: None)
    run()
    assert len(errors) == 1 and errors[0].startswith("write error:"), errors
    release_buff(w)


def test_a_closed_file_object_reports_it(run):
    r, w = os.pipe()
    f = os.fdopen(w, "wb", buffering=0)
    f.close()
    os.close(r)
    errors: List[str] = []
    buffwrite(f, b"data", lambda s, c: s.write(c), errors.append)
    rel.timeout(0.05, lambda: None)
    run()
    assert len(errors) == 1 and "closed" in errors[0], errors
    release_buff(f)


@pytest.mark.parametrize("make", [
    lambda: memoryview(b"abcdef").cast("B", (2, 3)),  # 2-D bytes
    lambda: memoryview((ctypes.c_uint16 * 3)(0x6261, 0x6463, 0x6665)).toreadonly(),  # "<H"
], ids=["2-d", "uint16"])
def test_read_only_views_of_any_shape_go_out_as_their_bytes(pair, run, drain, make):
    a, b = pair
    view = make()
    expected = view.tobytes()
    offered: List[int] = []

    def two_at_a_time(sock, chunk):
        offered.append(chunk.nbytes)
        return sock.send(chunk[:2])

    buffwrite(a, view, two_at_a_time, print)
    d = drain(b, len(expected))
    run()
    assert bytes(d.data) == expected, "a view is sent as its bytes, whatever its shape"
    assert offered == [6, 4, 2]
