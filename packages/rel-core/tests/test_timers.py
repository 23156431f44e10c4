"""The timer heap on its own, and timers through the loop in numbers."""

from __future__ import annotations

import random
import time

from rel_core import timerheap
from rel_core.timerheap import TimerHeap
from relcore_testing import SLACK, fake_engine_clock


class T:
    """What the heap needs of a timer: a ``_seq`` slot."""

    def __init__(self, name):
        self.name = name
        self._seq = None

    def __repr__(self):
        return "T(%r)" % (self.name,)


def drain(heap, now=float("inf")):
    out = []
    mark = heap.mark()
    t = heap.pop_due(now, mark)
    while t is not None:
        out.append(t)
        t = heap.pop_due(now, mark)
    return out


def test_heap_order_and_fifo():
    heap = TimerHeap()
    timers = [T(i) for i in range(6)]
    for t, d in zip(timers, [3.0, 1.0, 2.0, 1.0, 3.0, 1.0]):
        heap.push(t, d)
    assert heap.live == len(heap) == 6
    assert heap.next_deadline() == 1.0
    assert [t.name for t in drain(heap)] == [1, 3, 5, 2, 0, 4]
    assert heap.live == 0 and heap.next_deadline() is None
    assert all(t._seq is None for t in timers)


def test_heap_pop_due_respects_now_and_mark():
    heap = TimerHeap()
    a, b, c = T("a"), T("b"), T("c")
    heap.push(a, 1.0)
    heap.push(b, 2.0)
    mark = heap.mark()
    heap.push(c, 1.2)  # armed after the mark (during the pass): waits for the next one
    assert heap.pop_due(1.5, mark) is a
    assert heap.pop_due(1.5, mark) is None
    assert heap.live == 2
    assert drain(heap, 1.5) == [c]
    assert heap.live == 1 and heap.next_deadline() == 2.0


def test_heap_cancel_and_rearm():
    heap = TimerHeap()
    a, b = T("a"), T("b")
    heap.push(a, 1.0)
    heap.push(b, 2.0)
    heap.cancel(a)
    heap.cancel(a)  # twice: no harm
    assert heap.live == 1 and a._seq is None
    assert heap.next_deadline() == 2.0
    heap.push(b, 0.5)  # re-arm: the old entry goes stale
    assert heap.live == 1
    assert drain(heap) == [b]
    assert heap.live == 0


def test_heap_sweeps_cancelled_entries():
    """A program that arms and deletes timers in a loop keeps a bounded heap."""
    heap = TimerHeap()
    keep = [T("keep%d" % i) for i in range(10)]
    for i, t in enumerate(keep):
        heap.push(t, 1000.0 + i)
    for i in range(10000):
        t = T(i)
        heap.push(t, float(i))
        heap.cancel(t)
    assert heap.live == 10
    assert len(heap._heap) <= 2 * (timerheap.MIN_CANCELLED_TO_SWEEP + 10) + 1
    assert drain(heap) == keep


def test_heap_sweeps_rearmed_entries():
    heap = TimerHeap()
    t = T("x")
    for i in range(5000):
        heap.push(t, float(5000 - i))
        if i % 100 == 0:
            heap.cancel(t)
            heap.push(t, float(5000 - i))
    assert heap.live == 1
    # re-arming alone leaves stale entries to be skipped, not returned twice
    assert drain(heap) == [t]
    assert heap.next_deadline() is None


def test_heap_random_against_sorted_model():
    rng = random.Random(4)
    heap = TimerHeap()
    model = {}
    timers = [T(i) for i in range(50)]
    order = 0
    for _ in range(2000):
        t = rng.choice(timers)
        if rng.random() < 0.3:
            heap.cancel(t)
            model.pop(t, None)
        else:
            d = float(rng.randint(0, 20))
            heap.push(t, d)
            model[t] = (d, order)
            order += 1
    assert heap.live == len(model)
    assert drain(heap) == sorted(model, key=model.get)


def test_heap_top_is_always_live_and_the_next_deadline():
    # The loop reads _heap[0][0] as the next deadline without checking it.
    rng = random.Random(5)
    heap = TimerHeap()
    model = {}  # {timer: deadline}
    timers = [T(i) for i in range(30)]
    for step in range(5000):
        t = rng.choice(timers)
        r = rng.random()
        if r < 0.35:
            heap.cancel(t)
            model.pop(t, None)
        elif r < 0.9:
            d = float(rng.randint(0, 50))
            heap.push(t, d)
            model[t] = d
        else:  # fire what is due up to a random time
            now = float(rng.randint(0, 50))
            for fired in drain(heap, now):
                assert model.pop(fired) <= now
        assert heap.live == len(model)
        if model:
            top_deadline, top_seq, top = heap._heap[0]
            assert top._seq == top_seq, "step %d: a cancelled entry on top" % step
            assert top_deadline == min(model.values()) == heap.next_deadline()
        else:
            assert heap.next_deadline() is None


def test_heap_clear():
    heap = TimerHeap()
    ts = [T(i) for i in range(5)]
    for t in ts:
        heap.push(t, 1.0)
    heap.cancel(ts[0])
    assert sorted(heap.clear(), key=lambda t: t.name) == ts[1:]
    assert heap.live == 0 and heap.next_deadline() is None
    assert all(t._seq is None for t in ts)


# -- through the loop -----------------------------------------------------------------------
class SeenClock:
    """The real monotonic clock, remembering the last value the engine read."""

    def __init__(self):
        self.last = None

    def monotonic(self):
        self.last = time.monotonic()
        return self.last


def test_many_timers_fire_in_deadline_order_never_early(rel, monkeypatch):
    rng = random.Random(7)
    got = []
    expected = []
    start = time.monotonic()
    clock = SeenClock()
    fake_engine_clock(monkeypatch, clock.monotonic)
    for i in range(2000):
        d = rng.random() * 0.2
        t = rel.timeout(d, lambda i=i: got.append((i, time.monotonic() - due[i])))
        assert t.pending()
        expected.append((clock.last + d, i))
    due = [deadline for deadline, _ in expected]
    assert rel.report()["timers"] == 2000
    rel.dispatch()
    assert len(got) == 2000
    assert [i for i, _ in got] == [i for _, i in sorted(expected)]
    assert all(late >= -SLACK for _, late in got), "a timer fired early"
    assert time.monotonic() - start < 10


def test_many_timers_mostly_deleted(rel):
    timers = [rel.timeout(0.01 * (i % 10), lambda: None) for i in range(3000)]
    for t in timers[:2900]:
        t.delete()
    assert rel.report()["timers"] == 100
    rel.dispatch()
    assert rel.report()["timers"] == 0
    assert not any(t.pending() for t in timers)


def test_zero_delay_rearming_timer_does_not_starve_io(rel, socks):
    """A timer that re-arms itself with delay 0 gets one run per iteration, so
    I/O still runs between its runs."""
    a, b = socks()
    spins = []
    got = []
    rel.timeout(0, lambda: spins.append(1) or len(spins) < 1000)
    b.send(b"x")
    rel.read(a, lambda: got.append(len(spins)))
    rel.dispatch()
    assert got and got[0] < 5
    assert len(spins) == 1000


def test_rearm_delay_measured_from_callback(rel):
    """Truthy re-arm: the next run is ``delay`` after this one ran, not after
    the first deadline (a slow callback pushes the next run back)."""
    runs = []

    def slow():
        runs.append(time.monotonic())
        time.sleep(0.05)
        return len(runs) < 3

    rel.timeout(0.02, slow)
    rel.dispatch()
    assert len(runs) == 3
    assert all(b - a >= 0.07 - SLACK for a, b in zip(runs, runs[1:]))


def test_pending_tracks_arming(rel):
    seen = []
    holder = {}
    holder["t"] = rel.timeout(0.01, lambda: seen.append(holder["t"].pending()))
    assert holder["t"].pending()
    rel.dispatch()
    assert seen == [False], "a firing timer is no longer pending inside its callback"
    assert not holder["t"].pending()
