"""The bus across processes, against a real redis-server (see conftest.py).

Every test runs this process on the bus plus worker subprocesses
(worker.py); the loop runs through ``run_until``, bounded in time."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any, Callable, List

import pytest
import rel_core as rel
from rel_util import bus

redis = pytest.importorskip("redis")


def run_until(done: Callable[[], bool], limit: float = 30.0) -> None:
    """Dispatch until ``done()`` (checked every 10 ms); fail after ``limit`` s.
    Ends with pause(), which keeps the bus's watchers (abort() would drop them)."""
    deadline = time.monotonic() + limit
    expired: List[bool] = []

    def check() -> bool:
        if done():
            rel.pause()
            return False
        if time.monotonic() > deadline:
            expired.append(True)
            rel.pause()
            return False
        return True

    if done():
        return
    guard = rel.timeout(0.01, check)
    try:
        rel.dispatch()
    finally:
        guard.delete()
    assert not expired, "not done after %.0f s" % (limit,)


def link() -> Any:
    return bus._link.session


# -- joining ----------------------------------------------------------------------------------


def test_connect_errors_are_clear_and_change_nothing(server, ns):
    with pytest.raises(ValueError, match="bad Redis URL"):
        bus.connect("http://127.0.0.1:%d/0" % (server.port,))
    from server import free_port

    with pytest.raises(ConnectionError, match="cannot connect to Redis"):
        bus.connect("redis://127.0.0.1:%d/0" % (free_port(),), connect_timeout=2)
    assert not bus.connected()
    with pytest.raises(ValueError):
        bus.connect(server.url, ask_timeout=0)
    assert not bus.connected()
    bus.connect(server.url, namespace=ns)
    assert bus.connected()
    with pytest.raises(RuntimeError, match="already connected"):
        bus.connect(server.url, namespace=ns)
    bus.disconnect()
    assert not bus.connected()
    bus.disconnect()  # twice: nothing
    # in-process again
    calls: List[int] = []
    bus.listen("ch", calls.append)
    bus.emit("ch", 1)
    assert calls == [1]
    assert bus.ask("nobody") is None


def test_rel_util_path_has_connect_and_disconnect():
    import rel.util

    assert rel.util.connect is bus.connect
    assert rel.util.disconnect is bus.disconnect


# -- processes on one bus -------------------------------------------------------------------


def test_two_processes_local_listeners_included(spawn, server, ns):
    w = spawn("collect", 300, "a")
    w.expect("ready")
    bus.connect(server.url, namespace=ns)
    local: List[Any] = []
    bus.listen("a", local.append)
    for i in range(300):
        bus.emit("a", i)
    assert local == list(range(300))  # at once, and once: its own echo from Redis is not delivered
    assert w.expect("done")["got"]["a"] == list(range(300))
    run_until(lambda: not link().inflight, 10)
    time.sleep(0.2)
    run_until(lambda: True)
    assert local == list(range(300))


def test_three_processes(spawn, server, ns):
    collector = spawn("collect", 500, "x,y")
    collector.expect("ready")
    got: List[Any] = []
    bus.listen("x", lambda v: got.append(("x", v)))
    bus.listen("y", lambda v: got.append(("y", v)))
    bus.connect(server.url, namespace=ns)
    publisher = spawn("publish", 500, "x,y")
    publisher.expect("ready")
    publisher.expect("done")
    run_until(lambda: len(got) == 500)
    assert got == [("xy"[i % 2], i) for i in range(500)]
    assert collector.expect("done")["got"] == {"x": list(range(0, 500, 2)), "y": list(range(1, 500, 2))}


def test_burst_of_100000_keeps_per_channel_order(spawn, server, ns):
    n = 100_000
    w = spawn("collect", n, "p,q,r")
    w.expect("ready")
    bus.connect(server.url, namespace=ns)

    burst_done: List[bool] = []

    def burst() -> None:  # from inside the loop: writes are batched per loop pass
        for i in range(n):
            bus.emit("pqr"[i % 3], i)
        burst_done.append(True)

    rel.timeout(0, burst)
    run_until(lambda: burst_done and not link().inflight and not link().queue, 120)
    got = w.expect("done", 120)["got"]
    for k, ch in enumerate("pqr"):
        assert got[ch] == list(range(k, n, 3))


def test_a_burst_inside_one_callback_leaves_while_the_callback_runs(spawn, server, ns):
    from rel_util._pipe import SEND_AT

    w = spawn("collect", 3000, "s")
    w.expect("ready")
    bus.connect(server.url, namespace=ns)
    buffered: List[int] = []

    def burst() -> None:
        for i in range(3000):
            bus.emit("s", i)
            buffered.append(len(link().cmd.buf))

    rel.timeout(0, burst)
    run_until(lambda: len(buffered) == 3000 and not link().inflight, 60)
    # never more than a threshold's worth waits for the end of the pass: the rest was sent
    assert max(buffered) < SEND_AT + 200
    assert w.expect("done", 60)["got"]["s"] == list(range(3000))


def test_a_listener_that_raises_does_not_stop_delivery(spawn, server, ns, caplog):
    seen: List[int] = []

    def picky(v: int) -> None:
        if v == 0:
            raise ValueError("not zero")
        seen.append(v)

    bus.listen("b", picky)
    bus.connect(server.url, namespace=ns)
    w = spawn("publish", 3, "b")
    w.expect("ready")
    w.expect("done")
    with caplog.at_level(logging.ERROR, logger="rel"):
        run_until(lambda: len(seen) == 2)
    assert seen == [1, 2]
    assert "not zero" in caplog.text


# -- ask ------------------------------------------------------------------------------------------


def test_ask_and_answer(spawn, server, ns):
    w = spawn("answer", "double")
    w.expect("ready")
    bus.connect(server.url, namespace=ns, ask_timeout=5)
    assert bus.ask("double", 21) == 42
    answers: List[Any] = []
    rel.timeout(0, lambda: bus.ask_async("double", lambda a, e: answers.append((a, e)), 4))
    run_until(lambda: bool(answers))
    assert answers == [(8, None)]


def test_ask_two_answerers_first_answer_only(spawn, server, ns):
    for _ in range(2):
        spawn("answer", "double").expect("ready")
    bus.connect(server.url, namespace=ns, ask_timeout=5)
    answers: List[Any] = []
    rel.timeout(0, lambda: bus.ask_async("double", lambda a, e: answers.append((a, e)), 5))
    run_until(lambda: bool(answers))
    time.sleep(0.3)  # the second answer arrives, and is ignored
    run_until(lambda: True)
    rel.timeout(0.2, lambda: None)
    run_until(lambda: not rel.report()["timers"] or False, 2)
    assert answers == [(10, None)]
    assert bus.ask("double", 1) == 2


def test_ask_with_no_listener_is_a_timeout_error(server, ns):
    bus.connect(server.url, namespace=ns, ask_timeout=3)
    t0 = time.monotonic()
    with pytest.raises(bus.AskTimeout, match="no one's listening"):
        bus.ask("nobody", 1)
    errors: List[Any] = []
    rel.timeout(0, lambda: bus.ask_async("nobody", lambda a, e: errors.append((a, e))))
    run_until(lambda: bool(errors))
    assert errors[0][0] is None and isinstance(errors[0][1], bus.AskTimeout)
    assert isinstance(errors[0][1], TimeoutError)
    assert time.monotonic() - t0 < 3  # nobody subscribed: known at once, not after ask_timeout


def test_ask_unanswered_waits_the_bound(spawn, server, ns):
    w = spawn("answer", "slow", 10)
    w.expect("ready")
    bus.connect(server.url, namespace=ns, ask_timeout=1.0)
    t0 = time.monotonic()
    with pytest.raises(bus.AskTimeout, match="no answer within"):
        bus.ask("slow", 1)
    took = time.monotonic() - t0
    assert 0.9 <= took < 5


def test_listener_killed_mid_ask(spawn, server, ns):
    w = spawn("answer", "slow", 30)
    w.expect("ready")
    bus.connect(server.url, namespace=ns, ask_timeout=1.0)
    answers: List[Any] = []
    ticks: List[float] = []

    def tick() -> bool:
        ticks.append(time.monotonic())
        return True

    rel.timeout(0.05, tick)
    t0 = time.monotonic()
    bus.ask_async("slow", lambda a, e: answers.append((time.monotonic(), a, e)), 3)
    # the listener got the ask, then dies before answering
    assert w.expect("asked")["x"] == 3
    os.kill(w.proc.pid, signal.SIGKILL)
    run_until(lambda: bool(answers) and len(ticks) > 5 and ticks[-1] > answers[0][0] + 0.3)
    at, answer, error = answers[0]
    assert answer is None and isinstance(error, bus.AskTimeout)
    assert at - t0 >= 0.9
    assert len(answers) == 1
    assert any(t > at for t in ticks)  # the loop went on


# -- when / transpire ---------------------------------------------------------------------------


def test_transpire_reaches_other_processes(spawn, server, ns):
    w = spawn("wait_when", "go")
    w.expect("ready")
    bus.connect(server.url, namespace=ns)
    calls: List[str] = []
    bus.when("go", calls.append, "here")
    bus.transpire("go")
    assert calls == ["here"]
    assert w.expect("fired")["at_connect"] is False


def test_transpire_from_another_process_and_for_a_late_joiner(spawn, server, ns):
    bus.connect(server.url, namespace=ns)
    calls: List[str] = []
    bus.when(("ev", 1), calls.append, "remote")
    spawn("transpire", "ev").expect("done")
    late = spawn("wait_when", "ev")  # connects after the transpire
    assert late.expect("fired")["at_connect"] is True
    assert not calls  # ("ev", 1) is another event
    spawn("transpire", "late-one").expect("done")
    bus.when("late-one", calls.append, "remote")
    run_until(lambda: bool(calls))
    assert calls == ["remote"]
    # a process connecting afterwards sees both in bus.transpired at once
    bus.disconnect()
    bus.transpired.clear()
    bus.connect(server.url, namespace=ns)
    assert {"ev", "late-one"} <= bus.transpired


# -- encoding ---------------------------------------------------------------------------------------


def test_non_encodable_payloads_raise_type_error_and_send_nothing(server, ns):
    bus.connect(server.url, namespace=ns)
    local: List[Any] = []
    bus.listen("n", local.append)
    spy = redis.Redis.from_url(server.url).pubsub(ignore_subscribe_messages=True)
    spy.subscribe("%s:c:n" % (ns,))
    spy.get_message(timeout=2)
    try:
        for bad in (object(), {1, 2}, float("nan"), b"bytes", {"k": object()}):
            with pytest.raises(TypeError):
                bus.emit("n", bad)
        with pytest.raises(TypeError):
            bus.emit("n", 1, key=object())
        with pytest.raises(TypeError):
            bus.ask("nobody-here", object())
        with pytest.raises(TypeError):
            bus.ask_async("nobody-here", lambda a, e: None, object())
        with pytest.raises(TypeError):
            bus.transpire(("event", b"bytes"))
        assert ("event", b"bytes") not in bus.transpired
        with pytest.raises(TypeError):
            bus.listen(("chan", b"bytes"), local.append)
        assert ("chan", b"bytes") not in bus.listeners
        assert local == []
        bus.emit("n", "fine")
        run_until(lambda: not link().inflight)
        msgs = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            m = spy.get_message(timeout=0.2)
            if m:
                msgs.append(m)
        assert len(msgs) == 1 and b"fine" in msgs[0]["data"]
        assert local == ["fine"]
    finally:
        spy.close()


# -- faults -----------------------------------------------------------------------------------------


def emit_through_a_restart(spawn, url, restart, ns, caplog, n):
    """Emit ``n`` messages to a worker, 5 ms apart, while the server restarts
    (``restart(0.5)``, in a thread, after the 100th): every one arrives once,
    in order. Returns the ``rel`` warnings logged meanwhile."""
    w = spawn("collect", n, "s")
    w.expect("ready")
    bus.connect(url, namespace=ns, queue_limit=1000)
    sent = [0]
    restarter = threading.Thread(target=restart, args=(0.5,))

    def tick() -> bool:
        bus.emit("s", sent[0])
        sent[0] += 1
        if sent[0] == 100:
            restarter.start()
        return sent[0] < n

    rel.timeout(0.005, tick)
    with caplog.at_level(logging.WARNING, logger="rel"):
        run_until(lambda: sent[0] == n and link().state == "up" and not link().queue
                  and not link().inflight, 60)
    restarter.join(30)
    assert w.expect("done", 60)["got"]["s"] == list(range(n))
    return [r.getMessage() for r in caplog.records]


def test_redis_restart_mid_stream_loses_nothing(spawn, server, ns, caplog):
    logged = emit_through_a_restart(spawn, server.url, server.restart, ns, caplog, 400)
    lost = [m for m in logged if "lost Redis" in m]
    back = [m for m in logged if "is back" in m]
    assert len(lost) == 1 and len(back) == 1, caplog.text


def test_emits_beyond_the_bound_are_dropped_and_counted(spawn, server, ns, caplog):
    w = spawn("collect", 52, "d")
    w.expect("ready")
    bus.connect(server.url, namespace=ns, queue_limit=50)
    bus.emit("d", 0)
    run_until(lambda: not link().inflight)
    server.stop()
    run_until(lambda: link().state == "down")
    with caplog.at_level(logging.WARNING, logger="rel"):
        for i in range(1, 81):
            bus.emit("d", i)  # no exception: queued, then dropped
        server.start()
        run_until(lambda: link().state == "up" and not link().queue and not link().inflight, 30)
    bus.emit("d", 999)
    got = w.expect("done", 30)["got"]["d"]
    assert got == list(range(0, 51)) + [999]
    text = caplog.text
    assert "30 dropped" in text, text


def test_after_rel_abort_the_next_bus_call_rearms_the_watchers(spawn, server, ns):
    got: List[int] = []
    bus.listen("z", got.append)
    bus.connect(server.url, namespace=ns)
    rel.timeout(0, rel.abort)  # drops every I/O watcher, the bus's included
    rel.dispatch()
    assert not link().sub.reading.pending()
    bus.emit("elsewhere", 1)  # any bus call re-arms them
    assert link().sub.reading.pending() and link().cmd.reading.pending()
    w = spawn("publish", 3, "z")
    w.expect("ready")
    w.expect("done")
    run_until(lambda: len(got) == 3)
    assert got == [0, 1, 2]


# -- threads ------------------------------------------------------------------------------------


def test_disconnect_from_another_thread_while_the_loop_runs(spawn, server, ns, caplog):
    """The loop runs in a thread of its own; this thread connects, emits and
    disconnects, five times over, with an ask pending each time (someone
    hears it, nobody answers). Acceptable: every emit reaches the other
    process, disconnect() returns normally, each pending ask's callback gets
    AskTimeout in the loop's thread (rel runs callbacks there only), the loop
    goes on and holds none of the bus's watchers after. Not acceptable: an
    exception anywhere (in disconnect, in the loop, logged by rel), a lost or
    duplicated emit, a callback run in this thread."""
    n, rounds = 4000, 5
    w = spawn("collect", n * rounds, "th")
    w.expect("ready")
    quiet = redis.Redis.from_url(server.url).pubsub()
    quiet.subscribe("%s:c:quiet" % (ns,))  # hears asks on "quiet", never answers
    answered: List[Any] = []
    keep = rel.timeout(0.05, lambda: True)  # the loop has something to wait for
    failures: List[BaseException] = []

    def run_loop() -> None:
        try:
            rel.dispatch()
        except BaseException as exc:
            failures.append(exc)

    loop = threading.Thread(target=run_loop, daemon=True)
    with caplog.at_level(logging.WARNING, logger="rel"):
        loop.start()
        deadline = time.monotonic() + 10
        while not rel.is_running() and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            for r in range(rounds):
                bus.connect(server.url, namespace=ns)
                for i in range(n):
                    bus.emit("th", r * n + i)
                bus.ask_async("quiet", lambda a, e: answered.append((threading.get_ident(), type(e))))
                bus.disconnect()
                assert not bus.connected()
            got = w.expect("done", 60)["got"]["th"]
            assert loop.is_alive() and not failures
            reads = rel.report()["reads"]
        finally:
            rel.abort()
            loop.join(10)
            keep.delete()
            quiet.close()
    assert got == list(range(n * rounds))
    assert answered == [(loop.ident, bus.AskTimeout)] * rounds
    assert reads == 0, "the bus left read watchers behind"
    assert not failures
    bad = [r.getMessage() for r in caplog.records if "lost Redis" in r.getMessage()
           or "another thread failed" in r.getMessage() or "not sent" in r.getMessage()
           or "acknowledged not all" in r.getMessage()]
    assert not bad, bad
