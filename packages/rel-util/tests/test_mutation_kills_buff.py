"""BuffWriter edges, each written against a change to buff.py that the suite
used to survive (see tests/mutation/): views of any format and rank under
partial sends, fd 0, a sender that reports nonsense, a writer released
inside its own send, another thread writing while the fast path sends, and
where exactly one write event stops."""

from __future__ import annotations

import os
import socket
import sys
import threading
from typing import Any, List

import pytest
import rel_core as rel
from rel_util import buff
from rel_util.buff import buffwrite, release_buff, writer_of


def two_at_a_time(sock: socket.socket, chunk: memoryview) -> int:
    return sock.send(chunk[:2])


@pytest.mark.parametrize("make", [
    lambda: memoryview(bytes(range(40))).cast("H"),  # native "H": sorts after "B"
    lambda: memoryview(bytes(range(40))).cast("d"),
    lambda: memoryview(b"z").cast("B", ()),  # 0-D
    lambda: memoryview(bytes(range(40)))[::3],  # not contiguous
], ids=["uint16", "double", "0-d", "strided"])
def test_read_only_views_go_out_as_their_bytes_under_partial_sends(pair, run, drain, make):
    a, b = pair
    view = make()
    expected = view.tobytes()
    errors: List[str] = []
    buffwrite(a, view, two_at_a_time, errors.append)
    d = drain(b, len(expected))
    run()
    assert bytes(d.data) == expected
    assert errors == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX fd numbers (os.dup2)")
def test_a_socket_on_fd_0_is_written_like_any_other(pair, run, drain):
    """fd 0 is an fd like the others (a daemon's stdin may well be its socket)."""
    a, b = pair
    saved = os.dup(0)
    try:
        os.dup2(a.fileno(), 0)
        errors: List[str] = []
        buffwrite(0, b"on zero", None, errors.append)  # an int fd: os.write
        d = drain(b, 7)
        run()
        assert bytes(d.data) == b"on zero"
        assert errors == []
    finally:
        release_buff(0)
        os.dup2(saved, 0)
        os.close(saved)


def learn_the_loop_thread(a: socket.socket, b: socket.socket, run: Any) -> None:
    """One write through the watcher: the writer module learns which thread
    runs the loop, so that buffwrite from callbacks takes the fast path."""
    buffwrite(a, b"w", lambda s, c: s.send(c), print)
    got = bytearray()

    def on_read() -> bool:
        got.extend(b.recv(10))
        return not got

    rel.read(b, on_read)
    run()
    assert bytes(got) == b"w"
    release_buff(a)  # the tests' own writers for ``a`` start afresh


@pytest.mark.parametrize("path", ["fast", "watcher"])
def test_a_sender_returning_a_negative_count_is_a_failure(pair, run, path):
    a, b = pair
    learn_the_loop_thread(a, b, run)
    errors: List[str] = []

    def liar(sock: socket.socket, chunk: memoryview) -> int:
        return -1

    other = socket.socketpair()
    try:
        target = other[0]
        target.setblocking(False)
        if path == "fast":
            def in_loop() -> None:
                buffwrite(target, b"payload", liar, errors.append)
                assert errors == [], "onerror ran inside buffwrite"
                seen.append(True)

            seen: List[bool] = []
            rel.timeout(0, in_loop)
        else:
            buffwrite(target, b"payload", liar, errors.append)
        rel.timeout(0.05, lambda: None)
        run()
        assert errors == ["write error: sender returned -1 for a 7-byte chunk"]
        assert path != "fast" or seen == [True]
        assert writer_of(target).queued == 0
        release_buff(target)
    finally:
        for s in other:
            s.close()


def test_a_writer_released_inside_its_fast_path_send_arms_nothing(pair, run):
    """The sender takes part of the payload and releases the writer: the rest
    is dropped with it, no watcher is left behind, the loop ends by itself."""
    a, b = pair
    learn_the_loop_thread(a, b, run)
    offered: List[int] = []

    def take_part_and_release(sock: socket.socket, chunk: memoryview) -> int:
        offered.append(chunk.nbytes)
        release_buff(sock)
        return sock.send(chunk[:3])

    rel.timeout(0, buffwrite, a, b"0123456789", take_part_and_release, print)
    run(2)  # fails if a watcher were left armed (the loop would not end)
    assert offered == [10]
    assert b.recv(100) == b"012"
    assert writer_of(a) is None


def test_a_thread_writing_while_the_fast_path_sends_queues_behind_it(pair, run, drain):
    """While the loop's thread is inside the fast path's send, another
    thread's buffwrite on the same (new) writer queues behind it; the loop's
    thread then arms the watcher for it."""
    a, b = pair
    learn_the_loop_thread(a, b, run)
    other = socket.socketpair()
    inside = threading.Event()
    written = threading.Event()
    thread_errors: List[BaseException] = []

    def slow_sender(sock: socket.socket, chunk: memoryview) -> int:
        if not inside.is_set():
            inside.set()
            written.wait(5)
        return sock.send(chunk)

    def from_thread() -> None:
        inside.wait(5)
        try:
            buffwrite(other[0], b" second", slow_sender, print)
        except BaseException as exc:  # noqa: B036 - reported to the test
            thread_errors.append(exc)
        finally:
            written.set()

    try:
        other[0].setblocking(False)
        other[1].setblocking(False)
        t = threading.Thread(target=from_thread, daemon=True)
        t.start()
        rel.timeout(0, buffwrite, other[0], b"first", slow_sender, print)
        d = drain(other[1], 12)
        run()
        t.join(5)
        assert thread_errors == []
        assert bytes(d.data) == b"first second"
    finally:
        release_buff(other[0])
        for s in other:
            s.close()


def test_one_write_event_stops_at_the_first_send_that_reaches_a_burst(pair, run):
    """"Send ... until BURST bytes went": with pieces that do not divide
    BURST, the event sends the piece that crosses it, then stops."""
    a, b = pair
    piece = 1025
    per_event = -(-buff.BURST // piece)  # the first count whose total reaches BURST
    order: List[str] = []

    def take_all(sock: socket.socket, chunk: memoryview) -> int:
        order.append("s")
        return chunk.nbytes  # pretends the kernel took it all

    def on_read() -> bool:
        order.append(" ")
        writer = writer_of(a)
        return writer is not None and writer.queued > 0

    for _ in range(per_event + 10):
        buffwrite(a, bytes(piece), take_all, print)
    b.send(b"x")  # a's reader is ready at every pass: it marks the passes
    rel.read(a, on_read)
    run()
    events = "".join(order).split()
    assert [len(e) for e in events] == [per_event, 10]


@pytest.mark.parametrize("trouble", ["raises", "closes"])
def test_a_failure_in_the_fast_path_reaches_onerror_later_never_inside_buffwrite(pair, run, trouble):
    """The sender raises, or takes part and closes the socket (so the watcher
    for the rest cannot be armed): onerror runs once, from a later callback."""
    a, b = pair
    learn_the_loop_thread(a, b, run)
    errors: List[str] = []
    right_after: List[int] = []

    def sender(sock: socket.socket, chunk: memoryview) -> int:
        if trouble == "raises":
            raise ConnectionResetError(104, "Connection reset by peer")
        n = sock.send(chunk[:3])
        sock.close()
        return n

    def in_loop() -> None:
        buffwrite(a, b"0123456789", sender, errors.append)
        right_after.append(len(errors))

    rel.timeout(0, in_loop)
    run()
    assert right_after == [0]
    assert len(errors) == 1 and errors[0].startswith("write error: "), errors
    if trouble == "raises":
        assert "Connection reset by peer" in errors[0]
    release_buff(a)


def test_a_payload_of_exactly_one_chunk_takes_the_fast_path(pair, run, drain):
    a, b = pair
    learn_the_loop_thread(a, b, run)
    offered: List[int] = []

    def send(sock: socket.socket, chunk: memoryview) -> int:
        offered.append(chunk.nbytes)
        if len(offered) == 1:
            return 0  # the first offer takes nothing: the watcher sends it, later
        return sock.send(chunk)

    sent_inside: List[List[int]] = []

    def in_loop() -> None:
        buffwrite(a, bytes(buff.CHUNK), send, print)
        sent_inside.append(list(offered))

    rel.timeout(0, in_loop)
    d = drain(b, buff.CHUNK)
    run()
    assert sent_inside == [[buff.CHUNK]], "a CHUNK-sized payload is sent inside buffwrite"
    assert len(d.data) == buff.CHUNK


def test_before_any_watcher_ran_a_write_from_a_callback_goes_through_the_watcher(
        pair, run, drain, monkeypatch):
    """Until a writer's watcher has run, rel_util does not know the loop's
    thread: buffwrite from a callback then queues (the docstring's promise)."""
    a, b = pair
    monkeypatch.setattr(buff, "_loop_thread", None)
    offered: List[int] = []

    def send(sock: socket.socket, chunk: memoryview) -> int:
        offered.append(chunk.nbytes)
        return sock.send(chunk)

    inside: List[List[int]] = []

    def in_loop() -> None:
        buffwrite(a, b"queued", send, print)
        inside.append(list(offered))

    rel.timeout(0, in_loop)
    d = drain(b, 6)
    run()
    assert inside == [[]]
    assert bytes(d.data) == b"queued" and offered == [6]


def test_a_writer_released_inside_a_watcher_send_stops_cleanly(pair, run):
    a, b = pair
    offered: List[int] = []

    def send_and_release(sock: socket.socket, chunk: memoryview) -> int:
        offered.append(chunk.nbytes)
        release_buff(sock)
        return sock.send(chunk)

    buffwrite(a, b"one", send_and_release, print)
    buffwrite(a, b"two", send_and_release, print)
    run(2)
    assert offered == [3]
    assert b.recv(100) == b"one"
    assert writer_of(a) is None


def test_a_writer_of_a_closed_file_object_reports_fd_minus_1():
    r, w = os.pipe()
    f = os.fdopen(w, "wb", buffering=0)
    f.close()
    os.close(r)
    writer = buff.BuffWriter(f)
    assert writer.fd == -1  # as a closed socket's fileno() says
    assert "fd -1" in repr(writer)


def test_two_threads_replacing_a_released_writer_share_one_new_writer(pair, run, drain):
    """A writer released directly stays in the table until the next
    buffwrite replaces it. Two threads doing that at once: the second to
    take the table's lock finds the first's new writer and queues on it
    (a second new writer would take over the fd's watcher and strand the
    first's data). The interleaving is forced: thread A is held, by a trace
    hook, between finding the released writer and taking the lock."""
    a, b = pair
    buffwrite(a, b"zero", lambda s, c: s.send(c), print)
    writer_of(a).release()  # directly: the table still holds it
    held = threading.Event()
    resume = threading.Event()

    def hold_at_the_table(frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_name == "_table" and not held.is_set():
            held.set()
            resume.wait(5)
        return None

    def thread_a() -> None:
        sys.settrace(hold_at_the_table)
        try:
            buffwrite(a, b"A", lambda s, c: s.send(c), print)
        finally:
            sys.settrace(None)

    t = threading.Thread(target=thread_a, daemon=True)
    t.start()
    assert held.wait(5)
    buffwrite(a, b"B", lambda s, c: s.send(c), print)  # replaces the released writer
    resume.set()
    t.join(5)
    d = drain(b, 2)
    run()
    assert bytes(d.data) == b"BA"


def test_a_large_whole_send_on_the_fast_path_queues_nothing(pair, run):
    a, b = pair
    learn_the_loop_thread(a, b, run)
    offered: List[int] = []
    queued_after: List[int] = []

    def send(sock: socket.socket, chunk: memoryview) -> int:
        offered.append(chunk.nbytes)
        return sock.send(chunk)

    def in_loop() -> None:
        buffwrite(a, bytes(1000), send, print)
        queued_after.append(writer_of(a).queued)

    rel.timeout(0, in_loop)
    run()
    assert queued_after == [0]
    assert offered == [1000], "after a whole send, nothing more is offered"
    assert len(b.recv(2000)) == 1000


@pytest.mark.parametrize("path", ["fast", "watcher"])
def test_a_sender_that_releases_its_writer_then_raises_reports_nothing(pair, run, path):
    """Released is done: a failure seen after that is nobody's to hear."""
    a, b = pair
    learn_the_loop_thread(a, b, run)
    errors: List[str] = []

    def release_then_fail(sock: socket.socket, chunk: memoryview) -> int:
        release_buff(sock)
        raise ConnectionResetError(104, "Connection reset by peer")

    if path == "fast":
        rel.timeout(0, buffwrite, a, b"data", release_then_fail, errors.append)
    else:
        buffwrite(a, b"data", release_then_fail, errors.append)
    rel.timeout(0.05, lambda: None)
    run()
    assert errors == []
    assert writer_of(a) is None


def test_a_failure_seen_by_the_watcher_reaches_onerror_in_that_callback(pair, run):
    """onerror runs from the write watcher's own callback, before the
    callbacks of other fds reported later in the same pass."""
    a, b = pair
    c, d = socket.socketpair()
    try:
        order: List[str] = []

        def failing(sock: socket.socket, chunk: memoryview) -> int:
            order.append("send")
            raise ConnectionResetError(104, "Connection reset by peer")

        buffwrite(a, b"data", failing, lambda msg: order.append("onerror"))  # a: writable now
        rel.read(c, lambda: order.append("read") and False)
        d.send(b"x")  # c: readable after a was writable, reported after it
        run()
        assert order == ["send", "onerror", "read"]
    finally:
        c.close()
        d.close()


def test_a_failure_found_in_buffwrite_is_delivered_at_once_not_later(run):
    """Delivered by rel.timeout(0): before a timer armed beside it for later."""
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    errors: List[str] = []
    seen_by_later: List[int] = []
    rel.timeout(0.5, lambda: seen_by_later.append(len(errors)))
    buffwrite(w, b"data", None, errors.append)  # a closed int fd: fails at once
    run()
    assert seen_by_later == [1]
    release_buff(w)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX fd numbers")
def test_a_thread_writing_while_another_fails_to_arm_gets_one_failure(run):
    """Thread A's write finds the fd closed (the watcher cannot be armed) and
    is held, by a trace hook, just before it reports that; meanwhile the
    main thread writes to the same writer: it must not raise, and onerror
    runs once."""
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    errors: List[str] = []
    held = threading.Event()
    resume = threading.Event()
    thread_errors: List[BaseException] = []

    def hold_at_fail(frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_name == "_fail" and not held.is_set():
            held.set()
            resume.wait(5)
        return None

    def thread_a() -> None:
        sys.settrace(hold_at_fail)
        try:
            buffwrite(w, b"from A", None, errors.append)
        except BaseException as exc:  # noqa: B036 - reported to the test
            thread_errors.append(exc)
        finally:
            sys.settrace(None)

    t = threading.Thread(target=thread_a, daemon=True)
    t.start()
    try:
        assert held.wait(5)
        buffwrite(w, b"from main", None, errors.append)  # must not raise
    finally:
        resume.set()
        t.join(5)
    rel.timeout(0.05, lambda: None)
    run()
    assert thread_errors == []
    assert len(errors) == 1 and errors[0].startswith("write error:"), errors
    release_buff(w)
