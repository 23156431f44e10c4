"""SPEC.md, "Behaviour the old users rely on", item by item, plus the cases of
pyevent's and rel 0.4.9.27's own suites (timeout, timer order, signal, read,
exception propagation, abort, a sleeping thread).

Timing checks are loose on purpose: a timer must never fire early, and "late"
means seconds, never milliseconds.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

import rel_core.rel as facade
from rel_core import discovery
from relcore_testing import SLACK, fake_engine_clock, open_fds, posix_fds

LATE = 3.0  # seconds: any later than this is a bug, not a loaded machine


def frozen_clock(monkeypatch, at=None):
    """Freeze the engine's clock at the real monotonic time ``at`` (now by
    default), so that timers armed meanwhile get exactly equal deadlines.
    Returns a function that unfreezes it."""
    at = time.monotonic() if at is None else at
    return fake_engine_clock(monkeypatch, lambda: at)


# -- a callback's exception -------------------------------------------------------------
class Boom(Exception):
    pass


def test_timer_exception_propagates_out_of_dispatch(rel, settle):
    calls = []

    def bad():
        calls.append("bad")
        raise Boom("bad callback")

    t = rel.timeout(0, bad)
    with pytest.raises(Boom):
        rel.dispatch()
    assert not rel.is_running()
    assert not t.pending(), "a timer whose callback raised must not be re-armed"
    assert calls == ["bad"]
    # the loop is usable again, and the bad timer does not fire again
    rel.timeout(0.01, lambda: calls.append("good"))
    settle()
    assert calls == ["bad", "good"]
    assert not rel.is_running()
    assert rel.report()["timers"] == 0


def test_truthy_raising_timer_is_not_rearmed(rel, settle):
    """rel 0.4.9.27 re-fired such a timer at once (fixed)."""
    calls = []

    def bad():
        calls.append(1)
        if len(calls) == 1:
            raise Boom()
        return True

    t = rel.timeout(0, bad)
    with pytest.raises(Boom):
        rel.dispatch()
    assert not t.pending()
    settle()  # nothing left: returns at once
    assert calls == [1]


def test_callback_exception_pyevent(rel, settle, request):
    """pyevent's test_callback_exception: one raising, one catching its own."""
    # asyncio-awaited: the other timer, due too, fires as asyncio's loop runs
    # the iteration in which the await ends (see test_pause_resume).
    awaited = "asyncio-awaited" in request.node.name
    ran = []
    boom = Exception("from raise_cb")

    def raise_cb(exc):
        ran.append("raise")
        raise exc

    def catch_cb(exc):
        try:
            raise exc
        except Exception:
            ran.append("catch")

    rel.timeout(0, raise_cb, boom)
    rel.timeout(0, catch_cb, Exception())
    with pytest.raises(Exception) as info:  # noqa: B017 - pyevent's own test
        rel.dispatch()
    assert info.value is boom, "dispatch() must raise the callback's own exception"
    assert ran == ["raise"] or awaited and ran == ["raise", "catch"]
    assert not rel.is_running()
    settle()  # the other timer is still armed, and runs
    assert ran == ["raise", "catch"]


def test_io_exception_propagates_out_of_loop_and_deletes_watcher(rel, socks, handle):
    a, b = socks()
    b.send(b"x")

    def bad():
        raise Boom()

    w = rel.read(handle(a), bad)
    with pytest.raises(Boom):
        rel.loop()
    assert not w.pending(), "the watcher whose callback raised must be deleted"
    assert rel.report()["reads"] == 0
    # and the loop still works
    fired = []
    rel.read(handle(a), lambda: fired.append(a.recv(10)))
    rel.loop()
    assert fired == [b"x"]


def test_io_exception_propagates_out_of_dispatch(rel, socks, guard):
    a, b = socks()
    b.send(b"x")
    g = guard()

    def bad():
        raise Boom()

    w = rel.read(a, bad)
    with pytest.raises(Boom):
        rel.dispatch()
    assert not rel.is_running()
    assert not w.pending()
    assert not g.expired
    g.cancel()


def test_exception_keeps_other_watchers(rel, socks, guard):
    a, b = socks()
    b.send(b"x")
    fired = []
    w = rel.read(a, lambda: fired.append("read") or True)
    t = rel.timeout(0, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        rel.dispatch()
    assert w.pending(), "only the raising watcher is deleted"
    assert not t.pending()
    g = guard()
    rel.timeout(0.01, rel.abort)
    rel.dispatch()
    assert "read" in fired
    assert not g.expired


def test_exception_pyevent_test_exception(rel):
    def bad_cb(foo):
        raise NotImplementedError(foo)

    rel.timeout(0, bad_cb, "bad callback")
    with pytest.raises(NotImplementedError):
        rel.dispatch()


# -- delete(); add(d) -----------------------------------------------------------------------
def test_delete_then_add_fires_once_after_d(rel):
    """rel's test_timers: operations are applied in order."""
    fired = []
    t = rel.timeout(60, lambda: fired.append(time.monotonic()))
    t.delete()
    assert not t.pending()
    start = time.monotonic()
    t.add(0.05)
    assert t.pending()
    rel.dispatch()  # ends when the timer is done
    assert len(fired) == 1
    assert 0.05 - SLACK <= fired[0] - start < LATE
    assert not t.pending()
    assert rel.report()["timers"] == 0


def test_timer_add_fires_once_after_d(rel):
    fired = []
    t = rel.timeout(None, lambda: fired.append(time.monotonic()))
    assert not t.pending()
    start = time.monotonic()
    t.add(0.05)
    rel.dispatch()
    assert len(fired) == 1 and 0.05 - SLACK <= fired[0] - start < LATE


def test_timeout_pyevent(rel):
    """pyevent's test_timeout and test_timeout2, with 0.1 s instead of 5."""
    got = []
    start = time.monotonic()
    ev = rel.event(lambda ev, handle, evtype, arg: got.append((evtype, arg, time.monotonic())), arg="ts")
    ev.add(0.1)
    rel.timeout(0.1, lambda s, secs: got.append(("t2", s, secs)), start, 0.1)
    rel.dispatch()
    assert len(got) == 2
    (evtype, arg, when), t2 = got
    assert (evtype, arg) == (rel.EV_TIMEOUT, "ts")
    assert 0.1 - SLACK <= when - start < LATE
    assert t2 == ("t2", start, 0.1)


# -- a thread sleeping while the loop waits --------------------------------------------------
def test_sleeping_thread_does_not_delay_timer(rel):
    """pyevent's test_thread: the engine releases the GIL while it waits, so a
    timer due while another thread sleeps fires while that thread still sleeps."""
    slept = threading.Event()

    def sleeper():
        time.sleep(1.5)
        slept.set()

    t = threading.Thread(target=sleeper, daemon=True)
    seen = []
    start = time.monotonic()
    t.start()
    rel.timeout(0.05, lambda: seen.append((time.monotonic() - start, slept.is_set())))
    rel.dispatch()
    assert len(seen) == 1
    elapsed, thread_done = seen[0]
    assert elapsed >= 0.05 - SLACK
    assert not thread_done, "the timer waited for the sleeping thread"


def test_thread_counts_while_timer_waits(rel):
    """pyevent's test_thread shape: a thread counts in steps while the loop waits
    for a timer; the timer sees the thread's work done and the loop was free."""
    d = {"count": 0}

    started = threading.Event()

    def counter():
        started.set()
        for _ in range(3):
            time.sleep(0.02)
            d["count"] += 1

    seen = []
    th = threading.Thread(target=counter, daemon=True)
    th.start()
    assert started.wait(10)
    rel.timeout(0.5, lambda: seen.append(d["count"]))
    rel.dispatch()
    th.join(5)
    assert seen == [3]


# -- timer order --------------------------------------------------------------------------------
def test_equal_deadlines_fire_in_order_added(rel, monkeypatch):
    order = []
    unfreeze = frozen_clock(monkeypatch)
    for i in range(50):
        rel.timeout(0.01, order.append, i)
    unfreeze()
    rel.dispatch()
    assert order == list(range(50))


def test_zero_delay_timers_fire_in_order_added(rel):
    order = []
    for i in range(20):
        rel.timeout(0, order.append, i)
    rel.dispatch()
    assert order == list(range(20))


def test_earlier_deadline_first(rel):
    order = []
    rel.timeout(0.06, order.append, "c")
    rel.timeout(0.02, order.append, "a")
    rel.timeout(0.04, order.append, "b")
    rel.dispatch()
    assert order == ["a", "b", "c"]


# -- initialize() called again -----------------------------------------------------------------
class _Switch:
    """A second registrar class for initialize() to switch to, whatever the one
    under test: a trivial subclass of it, or of the portable one."""


def _other_class(rel_cls):
    from rel_core.selector import SelectorRegistrar

    base = SelectorRegistrar if rel_cls is not SelectorRegistrar else rel_cls
    return type("SwitchedRegistrar", (base,), {"name": "switched"})


def _install_switch_target(monkeypatch, rel_cls):
    other = _other_class(rel_cls)
    real_load = facade.load

    def load(name):
        return other if name == "switched" else real_load(name)

    monkeypatch.setattr(facade, "load", load)
    monkeypatch.setattr(discovery, "load", load)
    return other


def test_initialize_again_moves_watchers(rel, socks, handle, monkeypatch, guard, settle):
    """websocket-client users call initialize(['select']) then
    initialize(options=['verbose']); rel 0.4.9.27 orphaned the watchers (fixed)."""
    old = facade.registrar
    other = _install_switch_target(monkeypatch, type(old))
    a, b = socks()
    c, d = socks()
    fired = []

    def on_read():
        fired.append(("read", a.recv(10)))
        return True

    def on_write():
        fired.append(("write",))

    r = rel.read(handle(a), on_read)
    w = rel.write(handle(d), on_write)
    t = rel.timeout(0.05, fired.append, ("timer",))
    unarmed = rel.timeout(None, fired.append, ("late timer",))
    before = rel.report()

    assert rel.initialize(["switched"], ["strict"]) == "switched"
    new = facade.registrar
    assert type(new) is other and new is not old
    assert facade.method == "switched"
    assert rel.report() == before
    assert r.pending() and w.pending() and t.pending()

    b.send(b"hi")
    unarmed.add(0.06)  # a watcher made on the old registrar, armed after the switch
    g = guard()
    rel.timeout(0.2, rel.abort)
    rel.dispatch()
    assert not g.expired
    assert ("read", b"hi") in fired
    assert ("write",) in fired
    assert fired.index(("timer",)) < fired.index(("late timer",))
    assert not t.pending()
    r.delete()
    assert not r.pending()
    g.cancel()
    assert rel.report() == {"timers": 0, "signals": 0, "reads": 0, "writes": 0, "errors": 0}
    settle()  # nothing left: returns at once (counts not corrupted by the move)


def test_initialize_again_moves_signals(rel, monkeypatch, guard):
    if not hasattr(signal, "SIGUSR1"):
        pytest.skip("no SIGUSR1")
    _install_switch_target(monkeypatch, type(facade.registrar))
    got = []
    s = rel.signal(signal.SIGUSR1, got.append, "usr1")
    rel.initialize(["switched"], ["strict"])
    assert s.pending()
    g = guard()
    rel.timeout(0.01, os.kill, os.getpid(), signal.SIGUSR1)
    rel.timeout(0.3, rel.abort)
    rel.dispatch()
    assert got == ["usr1"]
    assert not g.expired


def test_initialize_same_method_keeps_registrar(rel, socks):
    a, b = socks()
    reg = facade.registrar
    w = rel.read(a, lambda: None)
    assert rel.initialize([facade.method], ["strict"]) == facade.method
    assert facade.registrar is reg
    assert w.pending()


# -- deleted by another callback of the same iteration ------------------------------------------
def test_io_watcher_deleted_by_earlier_callback_does_not_fire(rel, socks, handle):
    a, b = socks()
    c, d = socks()
    b.send(b"x")
    d.send(b"x")
    fired = []
    watchers = {}

    def cb(name, other):
        fired.append(name)
        watchers[other].delete()
        return True

    watchers["a"] = rel.read(handle(a), cb, "a", "c")
    watchers["c"] = rel.read(handle(c), cb, "c", "a")
    rel.loop()
    assert len(fired) == 1, fired


def test_write_watcher_deleted_by_read_callback_on_same_fd(rel, socks, handle):
    a, b = socks()
    b.send(b"x")
    fired = []
    watchers = {}

    def on_read():
        fired.append("read")
        watchers["w"].delete()
        return True

    def on_write():
        fired.append("write")
        watchers["r"].delete()
        return True

    watchers["r"] = rel.read(handle(a), on_read)
    watchers["w"] = rel.write(handle(a), on_write)
    rel.loop()
    assert len(fired) == 1, fired


def test_timer_deleted_by_earlier_timer_does_not_fire(rel, monkeypatch):
    fired = []
    timers = []
    unfreeze = frozen_clock(monkeypatch)
    timers.append(rel.timeout(0.01, lambda: fired.append(0) or timers[1].delete()))
    timers.append(rel.timeout(0.01, fired.append, 1))
    unfreeze()
    rel.dispatch()
    assert fired == [0]


def test_timer_deleted_by_io_callback_of_same_iteration(rel, socks):
    a, b = socks()
    b.send(b"x")
    fired = []
    t = rel.timeout(0, fired.append, "timer")

    def on_read():
        fired.append("read")
        t.delete()

    rel.read(a, on_read)
    time.sleep(0.01)  # the timer is due before the loop looks
    rel.loop()
    assert fired == ["read"]


def test_io_watcher_deleted_by_timer_does_not_fire_later(rel, socks):
    a, b = socks()
    fired = []
    w = rel.read(a, fired.append, "read")
    rel.timeout(0, w.delete)
    rel.loop()
    b.send(b"x")
    rel.dispatch()  # nothing armed: returns at once
    assert fired == []


# -- a timer re-armed inside its own callback --------------------------------------------------
def test_timer_readded_in_callback_stays_armed_despite_falsy_return(rel):
    """rel 0.4.9.27 dropped it (fixed)."""
    fired = []
    t = None

    def cb():
        fired.append(time.monotonic())
        if len(fired) < 3:
            t.add(0.01)
        return False

    t = rel.timeout(0.01, cb)
    rel.dispatch()
    assert len(fired) == 3
    assert all(later - earlier >= 0.01 - SLACK for earlier, later in zip(fired, fired[1:]))
    assert not t.pending()


def test_timer_readded_with_other_delay_uses_it(rel):
    fired = []
    holder = {}

    def cb():
        fired.append(time.monotonic())
        if len(fired) == 1:
            holder["t"].add(0.1)
            return True  # truthy too: the add() wins, no double arming
        return None

    holder["t"] = rel.timeout(0, cb)
    rel.dispatch()
    assert len(fired) == 2
    assert fired[1] - fired[0] >= 0.1 - SLACK
    assert rel.report()["timers"] == 0


def test_timer_deleted_in_own_callback_despite_truthy_return(rel):
    fired = []
    holder = {}

    def cb():
        fired.append(1)
        holder["t"].delete()
        return True

    holder["t"] = rel.timeout(0, cb)
    rel.dispatch()
    assert fired == [1]
    assert not holder["t"].pending()


# -- pyevent's signal, read and abort cases -------------------------------------------------------
@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1")
def test_signal_pyevent(rel, settle):
    got = []

    def signal_cb(ev, sig, evtype, arg):
        got.append(evtype)
        if evtype == rel.EV_SIGNAL:
            ev.delete()
        elif evtype == rel.EV_TIMEOUT:
            os.kill(os.getpid(), signal.SIGUSR1)

    rel.event(signal_cb, handle=signal.SIGUSR1, evtype=rel.EV_SIGNAL).add()
    rel.event(signal_cb).add(0.05)
    settle()  # ends once the signal event deleted itself
    assert got == [rel.EV_TIMEOUT, rel.EV_SIGNAL]
    assert rel.report()["signals"] == 0


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1")
def test_signal2_pyevent(rel, guard):
    got = []

    def cb(sig=None):
        got.append(sig)
        if sig:
            rel.abort()
        else:
            os.kill(os.getpid(), signal.SIGUSR1)

    g = guard()
    rel.signal(signal.SIGUSR1, cb, signal.SIGUSR1)
    rel.timeout(0.05, cb)
    rel.dispatch()
    assert got == [None, signal.SIGUSR1]
    assert not g.expired


@posix_fds
def test_read_pyevent(rel):
    got = []
    r, w = os.pipe()
    try:
        rel.event(lambda ev, fd, evtype, arg: got.append((os.read(fd, 1024), evtype, arg)),
                  arg="a", handle=r, evtype=rel.EV_READ).add()
        os.write(w, b"hi niels")
        rel.dispatch()  # the event is not persistent: ends after one read
        assert got == [(b"hi niels", rel.EV_READ, "a")]
        msg = b"hello world"
        rel.read(r, lambda fd, m: got.append(os.read(fd, 1024) == m), r, msg)
        os.write(w, msg)
        rel.dispatch()
        assert got[-1] is True
    finally:
        os.close(r)
        os.close(w)


def test_abort_pyevent(rel):
    def never():
        raise NotImplementedError("abort failed!")

    t = rel.timeout(5, never)
    rel.timeout(0.05, rel.abort)
    rel.dispatch()
    assert t.pending(), "abort() keeps timers"
    t.delete()


def test_initialize_switch_refused_while_running(rel, monkeypatch):
    """Switching under a running loop is refused, and costs nothing (no new
    registrar left open, the loop and its watchers unchanged)."""
    _install_switch_target(monkeypatch, type(facade.registrar))
    reg = facade.registrar
    fds_before = open_fds()
    outcome = []

    def switch():
        try:
            rel.initialize(["switched"], ["strict"])
            outcome.append("switched")
        except RuntimeError:
            outcome.append("refused")

    rel.timeout(0, switch)
    later = rel.timeout(0.01, outcome.append, "still working")
    rel.dispatch()
    assert outcome == ["refused", "still working"]
    assert facade.registrar is reg
    assert not later.pending()
    if fds_before is not None:
        assert len(open_fds()) == len(fds_before)
