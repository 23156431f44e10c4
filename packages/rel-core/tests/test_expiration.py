"""``Timer.expiration`` and the watchers' reprs: the parts of a watcher users
touch that are neither a method nor a signature.

babyweb's cron arms its timer and then fast-forwards it with
``timer.expiration -= ff`` (rel 0.4.9.27's deadline, on ``time.monotonic()``'s
clock); websocket-client's documentation doctests
``repr(rel.signal(2, rel.abort))``. Every test runs on each registrar (the
``rel`` fixture), the asyncio one included.
"""

from __future__ import annotations

import functools
import signal
import socket
import threading
import time

import pytest

import rel_core.rel

from relcore_testing import Guard, dispatch_to_end, run_in_thread


def noop():
    return None


# -- reading it -------------------------------------------------------------------------

def test_expiration_is_none_until_armed_and_after_delete(rel):
    t = rel.timeout(None, noop)
    assert t.expiration is None
    before = time.monotonic()
    t.add(30)
    after = time.monotonic()
    assert before + 30 <= t.expiration <= after + 30  # the deadline, on monotonic()'s clock
    t.delete()
    assert t.expiration is None


def test_expiration_after_firing(rel):
    fired = []

    def once():
        fired.append(time.monotonic())
        return None

    def twice():
        fired.append(time.monotonic())
        return len(fired) < 3  # re-armed while it answers True

    one = rel.timeout(0, once)
    again = rel.timeout(0.05, twice)
    dispatch_to_end(rel)
    assert len(fired) == 3
    assert one.expiration is None  # fired, not re-armed: not pending (as pending() says)
    assert again.expiration is None
    seen = []

    def reads_own():
        seen.append(rekeyed.expiration)
        return True

    rekeyed = rel.timeout(0, reads_own)
    guard = Guard(rel, 5)
    rel.timeout(0.2, rel.abort)
    rel.dispatch()
    guard.cancel()
    now = time.monotonic()
    # re-armed by its True: delay (0) after it returned, so due at once, and
    # read back from the heap while it waits
    assert seen and rekeyed.expiration is not None and rekeyed.expiration <= now
    rekeyed.delete()


# -- writing it -------------------------------------------------------------------------

def test_fast_forward_fires_early(rel):
    """babyweb's cron: ``add(seconds)``, then ``expiration -= ff``."""
    order = []
    start = time.monotonic()
    t = rel.timeout(60, lambda: order.append(("moved", time.monotonic())))
    t.expiration -= 59.8
    assert t.pending()
    assert start + 0.2 - 1e-3 <= t.expiration <= time.monotonic() + 0.2
    rel.timeout(0.5, lambda: order.append(("later", time.monotonic())))  # proves the order
    dispatch_to_end(rel, 10)
    assert [name for name, when in order] == ["moved", "later"]
    assert order[0][1] >= start + 0.2 - 1e-3  # never before its new deadline


def test_moving_later_and_earlier_reorders(rel):
    order = []
    a = rel.timeout(0.05, lambda: order.append("a"))
    b = rel.timeout(0.3, lambda: order.append("b"))
    c = rel.timeout(30, lambda: order.append("c"))
    a.expiration = b.expiration + 0.3  # later than b
    c.expiration = time.monotonic() + 0.1  # earlier than both
    assert a.expiration > b.expiration > c.expiration
    dispatch_to_end(rel, 10)
    assert order == ["c", "b", "a"]


def test_moved_timer_keeps_its_period(rel):
    """A moved timer that answers True is re-armed ``delay`` after it ran."""
    fired = []

    def tick():
        fired.append(time.monotonic())
        return len(fired) < 2

    t = rel.timeout(30, tick)
    t.delay = 0.2  # babyweb sets the next period after add()
    t.expiration = time.monotonic()
    dispatch_to_end(rel, 10)
    assert len(fired) == 2
    assert fired[1] - fired[0] >= 0.2 - 1e-3


def test_writing_arms_an_unarmed_timer_and_none_deletes(rel):
    fired = []
    t = rel.timeout(5, lambda: fired.append(1))
    t.delete()
    t.expiration = time.monotonic() + 0.05
    assert t.pending()
    dispatch_to_end(rel)
    assert fired == [1]
    t.add(5)
    t.expiration = None
    assert not t.pending() and t.expiration is None
    dispatch_to_end(rel)
    assert fired == [1]


def test_writing_in_its_own_callback_rearms_it(rel):
    """As ``add()`` in its own callback: the callback decided, its falsy
    return is ignored."""
    fired = []

    def cb():
        fired.append(1)
        if len(fired) == 1:
            t.expiration = time.monotonic() + 0.05
        return None

    t = rel.timeout(0, cb)
    dispatch_to_end(rel)
    assert fired == [1, 1]


def test_bad_expiration_fails_at_the_assignment(rel):
    t = rel.timeout(5, noop)
    deadline = t.expiration
    for bad, exc in (("soon", TypeError), (True, TypeError), (float("nan"), ValueError)):
        with pytest.raises(exc, match="expiration"):
            t.expiration = bad
    assert t.expiration == deadline  # nothing changed
    never = rel.timeout(None, noop)
    with pytest.raises(ValueError, match="delay"):
        never.expiration = time.monotonic() + 1
    assert not never.pending()
    with pytest.raises(TypeError):
        never.expiration -= 1  # None - 1, as in rel 0.4.9.27
    t.delete()


def test_written_from_another_thread_while_the_loop_runs(rel):
    """Queued like any arm made from another thread: the writer reads back
    what it wrote at once, and the loop fires the timer at that time."""
    fired = []
    t = rel.timeout(60, lambda: fired.append(threading.current_thread()) or rel.abort())
    guard = Guard(rel, 10)
    seen = []
    started = threading.Event()
    rel.timeout(0, started.set)

    def mover():
        started.wait(10)
        time.sleep(0.05)  # the loop is waiting on the 60 s timer by now
        deadline = time.monotonic() + 0.1
        t.expiration = deadline
        seen.append((t.expiration, deadline, t.pending()))

    thread, errors = run_in_thread(mover)
    rel.dispatch()
    thread.join(10)
    guard.cancel()
    assert not errors and not guard.expired, "the moved timer did not fire"
    assert seen and seen[0][0] == seen[0][1] and seen[0][2]
    assert fired == [threading.current_thread()]


def test_expiration_reads_the_live_deadline_not_a_stale_one(rel):
    """Re-armed later, a timer leaves its old entry in the heap (deleted
    lazily), ahead of the new one: expiration is the new deadline."""
    t = rel.timeout(10, noop)
    first = t.expiration
    other = rel.timeout(5, noop)  # the heap's top, armed between t's two arms
    t.add(20)
    assert t.expiration > first + 5
    t.expiration = first - 5  # and moved earlier: the newest entry again
    later = rel.timeout(1, noop)  # armed after t, due first: the heap's top now
    assert t.expiration == first - 5
    for timer in (t, other, later):
        timer.delete()


def test_read_back_from_another_thread_among_other_queued_calls(rel, socks):
    """While the loop is busy in a callback, a thread's writes are queued: it
    reads each timer's own deadline back, whatever else it queued after."""
    a, _b = socks()
    t = rel.timeout(60, rel.abort)
    other = rel.timeout(60, noop)
    holding, release = threading.Event(), threading.Event()
    seen = {}

    def hold():
        holding.set()
        release.wait(10)  # the loop stays here: the thread's calls stay queued

    def writer():
        try:
            holding.wait(10)
            now = time.monotonic()
            t.expiration = mine = now + 0.2
            other.expiration = theirs = now + 30
            rel.read(a, noop)  # an I/O arm queued after both
            seen.update(t=(t.expiration, mine), other=(other.expiration, theirs),
                        queued=len(rel_core.rel.registrar._calls))
        finally:
            release.set()

    rel.timeout(0, hold)
    guard = Guard(rel, 10)
    thread, errors = run_in_thread(writer)
    rel.dispatch()
    thread.join(10)
    guard.cancel()
    assert not errors and not guard.expired
    assert seen["queued"] >= 3  # still queued when read back
    assert seen["t"][0] == seen["t"][1] and seen["other"][0] == seen["other"][1]


# -- reprs: rel 0.4.9.27's, string for string -------------------------------------------

class Owner:
    def method(self):
        return None


def test_reprs_are_the_originals(rel):
    a, b = socket.socketpair()
    try:
        sig = rel.signal(signal.SIGINT, rel.abort)  # as websocket-client's doctest: 2
        assert repr(sig) == '<Signal Object | Callback:"abort">'  # websocket-client's doctest
        t = rel.timeout(None, noop)
        assert repr(t) == '<Timer Object | Callback:"noop">'
        r = rel.read(a, noop)
        assert repr(r) == '<SocketIO Object | Callback:"noop">'
        # a bound method: its name alone (rel 0.4.9.27's class-name branch
        # tested ``im_class``, which no Python 3 method has)
        w = rel.write(b, Owner().method)
        assert repr(w) == '<SocketIO Object | Callback:"method">'
        assert repr(rel.timeout(None, Owner().method)) == '<Timer Object | Callback:"method">'
        ev = rel.event(noop)
        assert repr(ev) == "<rel.listener.Event object at %#x>" % (id(ev),)
        # where the original's repr raised (no __name__): the callable's own repr
        part = functools.partial(noop)
        assert repr(rel.timeout(None, part)) == '<Timer Object | Callback:"%r">' % (part,)
        for x in (sig, r, w):
            x.delete()
    finally:
        a.close()
        b.close()
