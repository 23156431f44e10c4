"""Promises of the engine's modules that the rest of the suite left unchecked
(found by ``nox -s mutate``: each test here fails for a change to the engine
that every other test let through). Real registrars, sockets and timers; the
timer heap on its own where its promise is its own (cost, laziness)."""

from __future__ import annotations

from rel_core import timerheap
from rel_core.timerheap import TimerHeap


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
