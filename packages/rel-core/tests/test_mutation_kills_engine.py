"""Promises of the engine's modules that the rest of the suite left unchecked
(found by ``nox -s mutate``: each test here fails for a change to the engine
that every other test let through). Real registrars, sockets and timers; the
timer heap on its own where its promise is its own (cost, laziness)."""

from __future__ import annotations

import os
import signal
import sys

import pytest

import rel_core.rel as facade
from rel_core import timerheap
from rel_core.timerheap import TimerHeap

needs_sigusr1 = pytest.mark.skipif(sys.platform == "win32", reason="SIGUSR1 is POSIX")


class T:
    """What the heap needs of a timer: a ``_seq`` slot."""

    __slots__ = ("name", "_seq")

    def __init__(self, name: object) -> None:
        self.name = name
        self._seq = None


# -- timerheap: cancelling is O(1); the O(n) sweep waits for many stale entries ---------------
def _heap_with_live_top(n_live: int) -> TimerHeap:
    heap = TimerHeap()
    heap.push(T("top"), -1.0)  # stays the top: no cancel below surfaces a stale entry
    for i in range(n_live):
        heap.push(T(i), 1000.0 + i)
    return heap


def test_a_few_cancelled_timers_are_left_in_the_heap():
    """Below MIN_CANCELLED_TO_SWEEP stale entries no sweep runs, even when
    they are most of the heap: each cancel costs O(1)."""
    heap = _heap_with_live_top(0)
    few = [T(i) for i in range(timerheap.MIN_CANCELLED_TO_SWEEP * 6 // 10)]
    for i, t in enumerate(few):
        heap.push(t, float(i))
    for t in few:
        heap.cancel(t)
    assert heap.live == 1
    assert len(heap._heap) == len(few) + 1  # still there, skipped when they surface


def test_cancelled_timers_that_are_a_minority_are_left_in_the_heap():
    """Past MIN_CANCELLED_TO_SWEEP, still no sweep while the stale entries
    are under CANCELLED_SHARE_TO_SWEEP of the heap: the O(n) pass is paid
    once per n stale entries, not once per cancel."""
    live = 1000
    heap = _heap_with_live_top(live)
    stale = [T(-i) for i in range(timerheap.MIN_CANCELLED_TO_SWEEP + 50)]
    for i, t in enumerate(stale):
        heap.push(t, float(i))
    for t in stale:
        heap.cancel(t)
    assert heap.live == live + 1
    assert len(heap._heap) == live + 1 + len(stale)


def test_cancelling_the_top_as_well_keeps_the_heap_bounded():
    """A cancelled top is popped at once; the stale entries left below still
    count towards the sweep, so the heap stays within about twice the live
    timers whatever the mix of cancels."""
    heap = TimerHeap()
    heap.push(T("live"), 500.0)
    for i in range(5000):
        top, below = T("a%d" % i), T("b%d" % i)
        heap.push(top, 0.0)
        heap.push(below, 1000.0 + i)
        heap.cancel(below)  # stale, under the live timer
        heap.cancel(top)  # stale at the top: popped now
        assert len(heap._heap) <= 2 * heap.live + timerheap.MIN_CANCELLED_TO_SWEEP + 2
    assert heap.live == 1


def test_the_sweep_comes_just_past_min_cancelled():
    """Exactly MIN_CANCELLED_TO_SWEEP stale entries (a majority) stay; one
    more, and they are all swept in one pass."""
    heap = _heap_with_live_top(0)
    n = timerheap.MIN_CANCELLED_TO_SWEEP
    stale = [T(i) for i in range(n + 1)]
    for i, t in enumerate(stale):
        heap.push(t, float(i))
    for t in stale[:n]:
        heap.cancel(t)
    assert len(heap._heap) == n + 2  # the top, n stale, one live
    heap.cancel(stale[n])
    assert len(heap._heap) == 1 and heap.live == 1  # swept: only the top is left
    # and counted from zero again: the next sweep is as far away as the first
    again = [T(-i) for i in range(n + 1)]
    for i, t in enumerate(again):
        heap.push(t, float(i))
    for t in again[:n]:
        heap.cancel(t)
    assert len(heap._heap) == n + 2
    heap.cancel(again[n])
    assert len(heap._heap) == 1


def test_the_stale_count_is_exact_through_every_operation():
    """The sweep decides from ``_cancelled``: it must be the number of stale
    entries in the heap after any mix of arming, re-arming, cancelling,
    firing and clearing."""
    import random

    rng = random.Random(14)
    heap = TimerHeap()
    timers = [T(i) for i in range(40)]
    for step in range(20000):
        t = rng.choice(timers)
        r = rng.random()
        if r < 0.4:
            heap.cancel(t)
        elif r < 0.93:
            heap.push(t, float(rng.randint(0, 100)))
        elif r < 0.999:
            mark = heap.mark()
            now = float(rng.randint(0, 100))
            while heap.pop_due(now, mark) is not None:
                pass
        else:
            heap.clear()
        stale = sum(1 for _d, s, x in heap._heap if x._seq != s)
        assert heap._cancelled == stale, "step %d" % step
        assert heap.live == len(heap._heap) - stale


# -- calls: pause() wakes only a loop running in another thread -------------------------------
def test_pause_with_no_loop_running_leaves_the_next_loop_waiting(rel):
    """pause() while no loop runs has no loop to wake: it must not leave a
    wake-up behind, or the next loop() would return at once, before the
    first thing ready (here a timer) and without running it."""
    fired = []
    rel.timeout(0.05, fired.append, "t")
    rel.pause()
    rel.loop()
    assert fired == ["t"]


def test_pause_from_a_callback_leaves_the_next_loop_waiting(rel, settle):
    """pause() from the loop's own thread ends dispatch() after the pass; it
    needs no wake-up, and must leave none for the next loop()."""
    rel.timeout(0, rel.pause)
    rel.timeout(10, lambda: None)  # dispatch() would go on without the pause
    rel.dispatch()
    fired = []
    rel.timeout(0.05, fired.append, "t")
    rel.loop()
    assert fired == ["t"]


# -- calls: a watcher of the old registrar, used after a switch ------------------------------
@needs_sigusr1
def test_signal_watcher_deleted_before_a_switch_works_after_it(rel, monkeypatch, settle):
    """A deleted watcher still points at the old registrar: re-armed after
    initialize() switched, it arms on the new one (a one-argument call
    forwarded) and follows it."""
    from test_behaviour import _install_switch_target

    _install_switch_target(monkeypatch, type(facade.registrar))
    fired = []

    def on_signal():
        fired.append("sig")
        w.delete()

    w = rel.signal(signal.SIGUSR1, on_signal)
    w.delete()
    assert rel.initialize(["switched"], ["strict"]) == "switched"
    w.add()
    assert w.pending() and w.registrar is facade.registrar
    rel.timeout(0.01, os.kill, os.getpid(), signal.SIGUSR1)
    settle()  # bounded by a watchdog thread
    assert fired == ["sig"]


@needs_sigusr1
def test_reset_on_a_watcher_of_the_old_registrar_resets_the_new_one(rel, monkeypatch):
    """reset() forwards only the signal number: the watchers of that signal,
    moved to the new registrar, are disarmed and the handler put back."""
    from test_behaviour import _install_switch_target

    _install_switch_target(monkeypatch, type(facade.registrar))
    before = signal.getsignal(signal.SIGUSR1)
    armed = rel.signal(signal.SIGUSR1, lambda: None)
    stale = rel.signal(signal.SIGUSR1, lambda: None)
    stale.delete()  # not moved: it still points at the old registrar
    assert rel.initialize(["switched"], ["strict"]) == "switched"
    assert armed.pending() and signal.getsignal(signal.SIGUSR1) is not before
    stale.reset()
    assert not armed.pending()
    assert signal.getsignal(signal.SIGUSR1) is before
    assert rel.report()["signals"] == 0


def test_io_watcher_deleted_before_a_switch_works_after_it(rel, socks, monkeypatch, settle):
    from test_behaviour import _install_switch_target

    _install_switch_target(monkeypatch, type(facade.registrar))
    a, b = socks()
    got = []
    r = rel.read(a, lambda: got.append(a.recv(10)))
    r.delete()
    assert rel.initialize(["switched"], ["strict"]) == "switched"
    r.add()
    b.send(b"x")
    settle()
    assert got == [b"x"] and not r.pending()
