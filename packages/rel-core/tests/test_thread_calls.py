"""Calls from other threads are bounded (DESIGN.md, engine rule 7): what
cancels out collapses before it costs a system call, and a thread that
outruns the loop waits, never the loop (rel_core/calls.py).

Every test here runs with the loop dispatching in the test's thread and
other threads calling in; each is bounded by a timer or a thread that
stops the loop, and by joins with timeouts.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from typing import Any, List

import pytest

import rel_core.rel as facade
from rel_core import calls as calls_module
from relcore_testing import dispatch_to_end, fill, run_in_thread

MAX_QUEUED = getattr(calls_module, "MAX_QUEUED", 4096)


def reg() -> Any:
    return facade.registrar


def rss_bytes() -> int:
    """This process's resident set (Linux), or 0 where it cannot be read
    (Windows has no os.sysconf; under Wine /proc is not this process's)."""
    if sys.platform != "linux":
        return 0
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def unwritable(socks: Any) -> socket.socket:
    """A socket whose send buffer is full: a write watcher on it never fires."""
    a, b = socks()
    fill(a)
    return a


def hold_the_loop(rel: Any) -> Any:
    """Arm a zero-delay timer whose callback holds the loop's thread until
    ``release`` is set; returns (held, release) events."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        assert release.wait(20)

    rel.timeout(0, hold)
    return held, release


# -- the churn scenario of issue 25 -----------------------------------------------------
def test_two_threads_arming_and_deleting_leave_the_loop_its_timer(rel, socks):
    """Two threads arm and delete a write watcher in a tight loop for 3 s
    while the loop runs a 10 ms repeating timer. Before calls were bounded,
    each queued arm/disarm cost the loop a system call (and the GIL): on
    epoll the queue grew to ~190,000 calls and the timer's longest gap was
    1.7 s. Now: gap under a second (the bench has the real figure), the
    queue never past its bound, the process's memory about flat."""
    sock = unwritable(socks)
    stop = threading.Event()
    ticks: List[float] = []
    queue_seen = [0]
    made = [0, 0]

    def tick() -> bool:
        ticks.append(time.monotonic())
        queue_seen[0] = max(queue_seen[0], len(reg()._calls))
        return not stop.is_set()

    def churn(i: int) -> None:
        def body() -> None:
            while not stop.is_set():
                w = rel.write(sock, lambda: True)
                w.delete()
                made[i] += 1
                if made[i] % 64 == 0:
                    queue_seen[0] = max(queue_seen[0], len(reg()._calls))
        return body

    def end() -> None:
        stop.set()
        rel.abort()

    rss_before = rss_bytes()
    rel.timeout(0.01, tick)
    rel.timeout(3.0, end)
    threads = [run_in_thread(churn(i)) for i in range(2)]
    dispatch_to_end(rel, 60)
    stop.set()
    for t, errors in threads:
        t.join(20)
        assert not t.is_alive()
        assert not errors, errors
    rss_growth = rss_bytes() - rss_before
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 1.0, "the timer's longest gap: %.3f s" % max(gaps)
    assert len(ticks) > 30, len(ticks)
    assert min(made) > 100, made  # both threads did churn
    assert queue_seen[0] <= MAX_QUEUED, queue_seen[0]
    assert rss_growth < 64 << 20, "RSS grew by %d bytes" % rss_growth
    assert rel.report()["writes"] == 0
    rel.loop(True)  # what the threads' last calls queued, applied now if not yet
    assert rel.report()["writes"] == 0


# -- collapse ------------------------------------------------------------------------------
def test_arm_then_delete_from_another_thread_queues_almost_nothing(rel, socks):
    """With the loop's thread held inside a callback, another thread arms
    and deletes 1,000 write watchers and re-arms one timer 1,000 times: the
    queue holds one call for the fd's write slot and one for the timer,
    whose pending() answers the thread's own last call at once. Once
    released, the loop applies them: nothing armed but the timer, at its
    last delay."""
    a, b = socks()
    held, release = hold_the_loop(rel)
    fired: List[str] = []
    seen: List[Any] = []
    timer = rel.timeout(None, lambda: fired.append("timer") or rel.abort())

    def worker() -> None:
        assert held.wait(10)
        for _ in range(1000):
            w = rel.write(a, lambda: fired.append("write"))
            w.delete()
        for i in range(1000):
            timer.add(30 - i * 0.0299)  # the last: 0.1 s
        seen.append((len(reg()._calls), timer.pending(), rel.report()))
        release.set()

    th, errors = run_in_thread(worker)
    rel.timeout(5, rel.abort)
    t0 = time.monotonic()
    rel.dispatch()
    th.join(10)
    assert not errors, errors
    ((queued, pending, report),) = seen
    assert queued == 2, queued
    assert pending  # the caller's own add() counts at once
    assert report["writes"] == 0 and report["timers"] == 1  # the abort timer only: nothing applied yet
    assert fired == ["timer"]  # the write watchers never fired: never armed
    assert time.monotonic() - t0 < 4  # the timer fired at its last delay, not 30 s
    assert rel.report()["writes"] == 0


def test_folded_calls_keep_rels_replacement_rule(rel, socks):
    """One watcher per fd and kind: the newest replaces the one armed
    (as rel). Folded, the calls of another thread keep that: a watcher armed
    before is replaced by a new one even if the new one is deleted next; of
    two new ones, the one left armed is the one armed last."""
    a = unwritable(socks)
    b, _ = socks()
    held, release = hold_the_loop(rel)
    fired: List[str] = []
    old = rel.write(a, lambda: fired.append("old") or True)
    other_sock, _ = socks()
    kept = rel.read(other_sock, lambda: True)

    def worker() -> None:
        assert held.wait(10)
        new = rel.write(a, lambda: fired.append("new"))
        new.delete()  # old was replaced by new, then new deleted: nothing left
        w1 = rel.write(b, lambda: fired.append("w1") or rel.pause())
        rel.write(b, lambda: fired.append("w2") or rel.pause())  # w2
        w1.delete()  # w2 replaced w1 already: w2 stays
        kept.delete()
        kept.add()  # a delete then an arm: armed
        release.set()

    th, errors = run_in_thread(worker)
    rel.timeout(5, rel.abort)
    rel.dispatch()
    th.join(10)
    assert not errors, errors
    assert not old.pending()
    assert fired == ["w2"]
    assert kept.pending()
    kept.delete()


#: (what another thread does, which watchers are armed once the loop applied
#: it, how many calls it queued). The slot's own watcher ``y`` is armed
#: first (but where the calls start with ``0:``: the slot is empty then);
#: ``v`` and ``w`` are watchers of the same fd and kind, not armed.
FOLDS = [
    ("0: +v -v", "", 1),  # nothing to replace: the clear finds the slot empty
    ("+v -v", "", 1),  # y replaced by v, then v deleted
    ("+v -v -v", "", 1),
    ("+v -v -y", "", 1),  # y was replaced and disarmed already
    ("+v -v +w", "w", 1),
    ("+v +w", "w", 1),  # of two arms the last one counts
    ("+v -y", "v", 1),  # y was replaced by v: deleting it changes nothing
    ("+v -y -v", "", 1),
    ("-y -y", "", 1),
    ("-v -y", "", 2),  # two deletes of different watchers: both are applied
    ("-y +v", "v", 1),
    ("-y -v +w -w", "", 2),
    ("-y +y", "y", 1),
]


@pytest.mark.parametrize("ops, armed, queued", FOLDS, ids=[f[0] for f in FOLDS])
def test_calls_of_one_slot_fold_into_what_they_do_together(rel, socks, caplog, ops, armed,
                                                           queued):
    """With the loop's thread held inside a callback, another thread arms and
    deletes watchers of one fd's read slot: its calls fold into as few as do
    the same, and once the loop applies them the slot holds what the calls,
    applied one by one, would have left (one watcher per fd and kind, the
    newest replacing the one armed: as rel)."""
    a, _ = socks()  # nothing is ever sent to it: its readers never fire
    watchers = {}
    for name in "vwy":  # y last: arming it replaced v and w, disarmed anyway
        watchers[name] = rel.read(a, lambda: True)
        if name != "y":
            watchers[name].delete()
    if ops.startswith("0:"):
        watchers["y"].delete()
    held, release = hold_the_loop(rel)
    seen: List[int] = []

    def worker() -> None:
        assert held.wait(10)
        for op in ops.split()[ops.startswith("0:"):]:
            w = watchers[op[1]]
            w.add() if op[0] == "+" else w.delete()
        seen.append(len(reg()._calls))
        release.set()

    def after_release() -> None:
        # in a later pass, after the loop applied the calls; pause() (not
        # abort(), which deletes every watcher) to read what they left
        rel.timeout(0.05, rel.pause)

    rel.timeout(0, after_release)
    guard = rel.timeout(10, rel.abort)
    th, errors = run_in_thread(worker)
    with caplog.at_level("WARNING", logger="rel"):
        rel.dispatch()
    th.join(10)
    assert not errors, errors
    assert seen == [queued]
    assert {n for n, w in watchers.items() if w.pending()} == set(armed)
    assert rel.report()["reads"] == len(armed)
    guard.delete()
    assert not [r for r in caplog.records if "another thread" in r.getMessage()]


# -- backpressure ----------------------------------------------------------------------------
def fill_queue(rel: Any, count: int, made: List[Any]) -> None:
    """From another thread: arm ``count`` distinct timers (nothing folds)."""
    for _ in range(count):
        made.append(rel.timeout(30, lambda: None))


def wait_for(predicate: Any, limit: float = 10.0) -> bool:
    deadline = time.monotonic() + limit
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(predicate())


def test_a_thread_that_outruns_the_loop_waits_for_room(rel, monkeypatch):
    """With the loop's thread held inside a callback, a thread that queues
    more calls than the bound waits at the bound; once the callback returns,
    the loop drains, and the thread goes on. Nothing is lost: every timer
    ends armed."""
    monkeypatch.setattr(calls_module, "STALL", 60.0)  # a held loop is not a stalled one here
    made: List[Any] = []
    total = MAX_QUEUED + 500
    seen: List[Any] = []
    started: List[Any] = []

    def hold() -> None:
        started.append(run_in_thread(lambda: fill_queue(rel, total, made)))
        th = started[0][0]
        assert wait_for(lambda: len(made) >= MAX_QUEUED)
        time.sleep(0.3)  # time enough to go past the bound, if it could
        seen.append((len(made), len(reg()._calls), th.is_alive()))

    def check() -> bool:
        if len(made) == total and not started[0][0].is_alive():
            rel.pause()
        return True

    rel.timeout(0, hold)
    rel.timeout(0.02, check)
    guard = rel.timeout(20, rel.abort)
    rel.dispatch()
    ((th, errors),) = started
    th.join(10)
    assert not errors, errors
    ((made_then, queued_then, alive),) = seen
    assert alive, "the thread did not wait"
    assert (made_then, queued_then) == (MAX_QUEUED, MAX_QUEUED), seen
    assert len(made) == total and guard.pending()
    rel.loop(True)
    assert all(t.pending() for t in made)
    assert rel.report()["timers"] == total + 2
    rel.init()


@pytest.mark.parametrize("how", ["abort", "pause", "close", "switch"])
def test_a_waiting_thread_returns_when_the_loop_stops(rel, monkeypatch, how):
    """A thread waiting for room does not wait for ever: once the loop
    stops (abort, pause), its calls run at once; closing the registrar then
    makes its next arms fail; switching registrar sends them to the new one.
    Either way the thread returns, and no call is lost or applied twice."""
    monkeypatch.setattr(calls_module, "STALL", 60.0)
    made: List[Any] = []
    total = MAX_QUEUED + 200
    old = reg()
    if how == "switch":
        from test_robustness import other_registrar_name

        target = other_registrar_name()

    def worker() -> None:
        try:
            fill_queue(rel, total, made)
        except RuntimeError as exc:  # only after close()
            assert how == "close" and "closed" in str(exc), exc

    th, errors = run_in_thread(worker)

    def stop_when_full() -> None:
        assert wait_for(lambda: len(made) >= MAX_QUEUED)
        time.sleep(0.1)
        getattr(rel, "pause" if how == "pause" else "abort")()  # the loop's thread: at once

    rel.timeout(0, stop_when_full)
    rel.timeout(0.05, lambda: True)  # keeps dispatch() going until stopped
    rel.dispatch()
    if how == "close":
        reg().close()
    elif how == "switch":
        rel.initialize([target])
    th.join(20)
    assert not th.is_alive(), "the thread still waits for room"
    assert not errors, errors
    if how == "close":
        assert MAX_QUEUED <= len(made) < total or len(made) == total
        return
    assert len(made) == total
    rel.loop(True)
    assert all(t.pending() for t in made)
    assert rel.report()["timers"] == total + 1
    if how == "switch":
        assert old._moved_to is reg() and reg() is not old
    rel.init()


def test_a_thread_waits_no_longer_than_a_stalled_loop(rel, monkeypatch):
    """The loop's thread blocked in a callback on something the waiting
    thread holds (here: it waits for that thread to finish) would be a
    deadlock: after STALL seconds with nothing applied, the thread queues
    beyond the bound instead, and both go on."""
    monkeypatch.setattr(calls_module, "STALL", 0.5)
    made: List[Any] = []
    total = MAX_QUEUED + 3
    threads: List[Any] = []

    def block_on_the_thread() -> None:
        t, errors = run_in_thread(lambda: fill_queue(rel, total, made))
        threads.append((t, errors))
        t.join(20)

    rel.timeout(0, block_on_the_thread)
    rel.timeout(10, rel.abort)
    t0 = time.monotonic()
    rel.loop()
    took = time.monotonic() - t0
    assert took < 15
    ((t, errors),) = threads
    assert not t.is_alive() and not errors, errors
    assert len(made) == total
    # Each of the 3 calls beyond the bound waited STALL first, never less.
    assert took >= 3 * 0.5, took
    rel.loop(True)
    assert all(t.pending() for t in made)
    rel.init()


def test_the_loops_own_thread_never_waits(rel):
    """A callback that arms far more than the bound is not throttled."""
    made: List[Any] = []

    def arm_many() -> None:
        fill_queue(rel, MAX_QUEUED * 2, made)

    rel.timeout(0, arm_many)
    t0 = time.monotonic()
    rel.loop()
    assert time.monotonic() - t0 < 10
    assert len(made) == MAX_QUEUED * 2 and all(t.pending() for t in made)
    assert len(reg()._calls) == 0
    rel.init()


def test_each_drain_starts_the_stall_clock_again(rel, monkeypatch):
    """A loop that keeps draining, however slowly, is not stalled: threads
    that compete for room through several drains, longer than STALL in all,
    never queue beyond the bound."""
    monkeypatch.setattr(calls_module, "STALL", 1.0)
    made: List[Any] = []
    each = MAX_QUEUED
    longest = [0]

    def fill() -> None:
        for _ in range(each):
            made.append(rel.timeout(30, lambda: None))
            longest[0] = max(longest[0], len(reg()._calls))

    def slowly() -> bool:
        time.sleep(0.2)  # held 0.2 s a pass: each drain comes well within STALL
        if len(made) < 3 * each:
            return True
        rel.abort()  # all made (the 30 s timers they armed would keep dispatch() going)
        return False

    fillers = [run_in_thread(fill) for _ in range(3)]
    rel.timeout(0.01, slowly)
    rel.timeout(30, rel.abort)
    rel.dispatch()
    for th, errors in fillers:
        th.join(20)
        assert not th.is_alive() and not errors, errors
    assert len(made) == 3 * each
    assert longest[0] <= MAX_QUEUED, longest[0]
    rel.init()


def test_the_stall_clock_counts_time_with_nothing_applied(monkeypatch):
    """A call waiting for room is stalled only by STALL seconds in which the
    loop applied nothing: one that finds the queue full again after every
    drain (others took the room first) waits on, however long in all. (A
    loop's drains cannot be timed against a waiting thread's looks from a
    test without racing them; a LoopThread's own drains can.)"""
    monkeypatch.setattr(calls_module, "STALL", 0.3)
    monkeypatch.setattr(calls_module, "ROOM_POLL", 0.05)
    lt = calls_module.LoopThread()
    stall: List[float] = []
    with lt._lock:
        t0 = time.monotonic()
        for _ in range(10):  # each look waits ROOM_POLL: 0.5 s in all, past STALL
            assert lt._wait_for_room(stall) is False
            lt._run_calls()  # a drain (of nothing) between two looks
        assert time.monotonic() - t0 >= 0.3
        t1 = time.monotonic()
        while not lt._wait_for_room(stall):  # no drain now: stalled after STALL
            assert time.monotonic() - t1 < 10
        assert time.monotonic() - t1 >= 0.3


def test_a_call_after_a_drain_wakes_the_loop_again(rel, socks):
    """One wake-up a drain, not one a call: a thread's call after the loop
    drained the previous one still wakes a loop that waits on a far timer."""
    woke: List[float] = []
    a, b = socks()
    c, d = socks()
    b.send(b"1")
    d.send(b"2")

    def on_a() -> bool:
        a.recv(1)
        woke.append(time.monotonic())
        return False

    def on_c() -> bool:
        c.recv(1)
        woke.append(time.monotonic())
        rel.abort()
        return False

    def caller() -> None:
        rel.read(a, on_a)  # wakes the loop, which drains it and runs on_a
        assert wait_for(lambda: len(woke) == 1)
        time.sleep(0.2)  # the loop waits on its far timer again
        asked.append(time.monotonic())
        rel.read(c, on_c)  # after that drain: must wake it again

    asked: List[float] = []
    rel.timeout(30, rel.abort)
    th, errors = run_in_thread(caller)
    rel.dispatch()
    th.join(10)
    assert not errors, errors
    assert len(woke) == 2
    assert woke[1] - asked[0] < 5.0, "the second call waited for the far timer"
