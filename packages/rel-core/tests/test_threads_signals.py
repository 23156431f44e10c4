"""Waking a blocked loop: watchers added and abort() called from other threads,
signals delivered during a wait; and the idle loop, which must not wake up.

These tests block the loop with no timer at all (a timer would bound the wait
and hide a missing wake-up), so they are bounded differently: a watchdog thread
writes to an idle socket the loop watches, whose callback aborts the loop and
records that the watchdog had to.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Optional

import pytest

import rel_core.rel as facade
import rel_core.registrar
from relcore_testing import SLACK, WaitCounter, run_in_thread



def no_limit(timeout: Optional[float]) -> bool:
    """A wait with no timer armed: forever, or (pollers that forget closed fds)
    the idle audit's interval (on asyncio, a call_later's: a hair less)."""
    audit = rel_core.registrar.IDLE_AUDIT
    return timeout is None or audit - 0.5 < timeout <= audit

needs_sigusr1 = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1")
WATCHDOG = 5.0


class Watchdog:
    """Arms a read watcher on an idle socket; after ``limit`` seconds a thread
    writes to it, and the callback aborts the loop. ``barked`` says it had to."""

    def __init__(self, rel, socks, limit=WATCHDOG):
        self.rel = rel
        self.sock, self.peer = socks()
        self.barked = False
        self.watcher = rel.read(self.sock, self._bark)
        self._timer = threading.Timer(limit, self._poke)
        self._timer.daemon = True
        self._timer.start()

    def _poke(self):
        try:
            self.peer.send(b"!")
        except OSError:
            pass

    def _bark(self):
        self.barked = True
        self.rel.abort()

    def stop(self):
        self._timer.cancel()


@pytest.fixture
def watchdog(rel, socks):
    dogs = []

    def make(limit=WATCHDOG):
        dog = Watchdog(rel, socks, limit)
        dogs.append(dog)
        return dog

    yield make
    for dog in dogs:
        dog.stop()


def test_watcher_added_from_thread_wakes_blocked_loop(rel, socks, handle, watchdog, waits):
    dog = watchdog()  # the loop blocks on this idle socket, with no timer
    a, b = socks()
    b.send(b"x")
    got = []

    def on_read():
        got.append((a.recv(10), threading.current_thread()))
        rel.abort()

    def adder():
        assert waits.wait_entered()
        rel.read(handle(a), on_read)

    t, errors = run_in_thread(adder)
    rel.dispatch()
    t.join(10)
    assert not errors, errors
    assert not dog.barked, "the read watcher added from another thread did not wake the loop"
    assert got == [(b"x", threading.current_thread())], "callbacks run in the loop's thread"
    assert no_limit(waits.timeouts[0]), "no timer: the first wait has no limit but the idle audit's"


def test_timer_added_from_thread_wakes_blocked_loop(rel, watchdog, waits):
    dog = watchdog()
    got = []

    def adder():
        assert waits.wait_entered()
        rel.timeout(0.01, lambda: got.append(threading.current_thread()) or rel.abort())

    t, errors = run_in_thread(adder)
    rel.dispatch()
    t.join(10)
    assert not errors, errors
    assert not dog.barked
    assert got == [threading.current_thread()]


def test_abort_from_thread_ends_blocked_dispatch(rel, socks, watchdog, waits):
    dog = watchdog()
    a, b = socks()
    w = rel.read(a, lambda: True)
    t = rel.timeout(60, lambda: None)

    def aborter():
        assert waits.wait_entered()
        rel.abort()

    th, errors = run_in_thread(aborter)
    rel.dispatch()
    th.join(10)
    assert not errors, errors
    assert not dog.barked, "abort() from another thread did not end the blocked dispatch"
    assert not rel.is_running()
    assert not w.pending()
    assert t.pending(), "abort() keeps timers"
    t.delete()


def test_pause_from_thread_ends_blocked_dispatch(rel, socks, watchdog, waits):
    dog = watchdog()
    a, b = socks()
    w = rel.read(a, lambda: True)

    def pauser():
        assert waits.wait_entered()
        rel.pause()

    th, errors = run_in_thread(pauser)
    rel.dispatch()
    th.join(10)
    assert not errors, errors
    assert not dog.barked
    assert w.pending(), "pause() deletes nothing"
    rel.init()


def test_delete_from_thread(rel, socks, watchdog, waits):
    dog = watchdog()
    a, b = socks()
    c, d = socks()
    got = []
    w = rel.read(a, lambda: got.append("a") or True)

    def worker():
        assert waits.wait_entered()
        w.delete()
        b.send(b"x")  # too late: deleted first
        rel.read(c, lambda: got.append("c") or rel.abort())
        d.send(b"y")

    th, errors = run_in_thread(worker)
    rel.dispatch()
    th.join(10)
    assert not errors, errors
    assert not dog.barked
    assert got == ["c"]
    assert not w.pending()


def test_calls_from_another_thread_wait_for_the_loops_thread(rel, socks, watchdog):
    """Invariant 3 of the engine: a call from another thread that changes the
    tables is queued for the loop's thread, even one the loop's own thread
    would apply directly (a writer joining a reader of the same socket; a
    timer armed, then deleted). With the loop's thread held inside a
    callback, report() shows none of them; once it returns they apply in
    the order they were made, so the deleted timer stays deleted."""
    dog = watchdog()
    a, b = socks()
    held, release = threading.Event(), threading.Event()
    fired = []
    seen = []
    reader = rel.read(a, lambda: fired.append("read") or True)

    def hold():
        held.set()
        assert release.wait(10)

    def worker():
        assert held.wait(10)
        before = rel.report()
        rel.write(a, lambda: fired.append("write") or rel.abort())
        timer = rel.timeout(30, lambda: fired.append("timer"))
        timer.delete()
        reader.delete()
        seen.append((before, rel.report(), timer.pending()))
        release.set()

    rel.timeout(0, hold)
    th, errors = run_in_thread(worker)
    rel.dispatch()
    th.join(10)
    assert not errors, errors
    assert not dog.barked
    ((before, during, timer_pending),) = seen
    assert during == before  # nothing applied while the loop's thread was held
    assert not timer_pending  # the caller's own add() and delete() count at once
    assert fired == ["write"]
    assert not reader.pending()
    assert rel.report()["timers"] == 0 and rel.report()["writes"] == 0


def test_dispatch_in_other_thread(rel, socks):
    """The loop may run in any thread; calls from the main one are queued for it."""
    a, b = socks()
    got = []
    started = threading.Event()
    waits = WaitCounter(facade.registrar)
    rel.read(a, lambda: got.append(a.recv(10)) or True)
    th, errors = run_in_thread(lambda: (started.set(), rel.dispatch()))
    assert started.wait(10)
    assert waits.wait_entered()
    with pytest.raises(RuntimeError):
        rel.loop()  # not while it runs in another thread
    rel.dispatch()  # does nothing: already running
    b.send(b"1")
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    rel.abort()
    th.join(10)
    assert not th.is_alive()
    assert not errors, errors
    assert got == [b"1"]
    assert not rel.is_running()


@needs_sigusr1
def test_signal_during_blocked_wait_runs_callback(rel, watchdog, waits):
    dog = watchdog()
    got = []

    def on_usr1(tag):
        got.append((tag, threading.current_thread()))
        rel.abort()

    rel.signal(signal.SIGUSR1, on_usr1, "usr1")

    def killer():
        assert waits.wait_entered()
        os.kill(os.getpid(), signal.SIGUSR1)

    th, errors = run_in_thread(killer)
    rel.dispatch()
    th.join(10)
    assert not errors, errors
    assert not dog.barked, "SIGUSR1 did not wake the blocked loop"
    assert got == [("usr1", threading.current_thread())]


@needs_sigusr1
def test_signal_while_loop_runs_in_other_thread(rel, socks):
    """The handler runs in the main thread; the callback in the loop's."""
    got = []
    done = threading.Event()
    dog_sock, dog_peer = socks()
    rel.read(dog_sock, rel.abort)  # watchdog: poked below if the signal is lost

    def on_usr1():
        got.append(threading.current_thread())
        done.set()
        rel.abort()

    rel.signal(signal.SIGUSR1, on_usr1)
    waits = WaitCounter(facade.registrar)
    th, errors = run_in_thread(rel.dispatch)
    assert waits.wait_entered()
    os.kill(os.getpid(), signal.SIGUSR1)
    done.wait(WATCHDOG)
    if not done.is_set():
        dog_peer.send(b"!")
    th.join(10)
    assert not errors, errors
    assert got == [th]


@needs_sigusr1
def test_signal_burst_each_runs(rel, guard):
    """Two deliveries in two iterations run the callback twice."""
    got = []
    rel.signal(signal.SIGUSR1, got.append, 1)
    g = guard()
    rel.timeout(0.01, os.kill, os.getpid(), signal.SIGUSR1)
    rel.timeout(0.05, os.kill, os.getpid(), signal.SIGUSR1)
    rel.timeout(0.2, rel.abort)
    rel.dispatch()
    assert got == [1, 1]
    assert not g.expired


# -- idle -------------------------------------------------------------------------------------
def test_idle_loop_waits_once(rel, socks, waits):
    """One read watcher, no traffic: the poller's wait is entered once and not
    re-entered until something happens (counted, not timed)."""
    a, b = socks()
    got = []
    rel.read(a, lambda: got.append(a.recv(10)))
    seen = {}

    def observer():
        assert waits.wait_entered()
        time.sleep(0.3)  # plenty of time for a spinning loop to re-enter many times
        seen["count"] = waits.count
        b.send(b"x")

    th, errors = run_in_thread(observer)
    rel.dispatch()  # the read callback returns falsy: nothing left, dispatch ends
    th.join(10)
    assert not errors, errors
    assert seen["count"] == 1, waits.timeouts
    assert len(waits.timeouts) == 1 and no_limit(waits.timeouts[0])
    assert got == [b"x"]


def test_a_writer_alone_on_a_readable_fd_waits_for_room(rel, socks, waits):
    """A write watcher alone on an fd with unread data and no room to write:
    the poller is asked for writability only, so the loop waits once rather
    than waking again and again for data no watcher reads."""
    a, b = socks()
    a.setblocking(False)
    try:
        while True:
            a.send(b"x" * 65536)
    except BlockingIOError:
        pass  # no room left: not writable until b reads
    b.send(b"unread")
    fired = []
    rel.write(a, lambda: fired.append("room"))
    seen = {}

    def observer():
        assert waits.wait_entered()
        time.sleep(0.3)  # plenty of time for a spinning loop to re-enter many times
        seen["count"] = waits.count
        rel.abort()

    th, errors = run_in_thread(observer)
    rel.dispatch()
    th.join(10)
    assert not errors, errors
    assert fired == []
    assert seen["count"] == 1


def test_idle_with_far_timer_waits_once(rel, socks, waits):
    a, b = socks()
    t = rel.timeout(3600, lambda: None)
    rel.read(a, lambda: a.recv(10) and rel.abort())
    seen = {}

    def observer():
        assert waits.wait_entered()
        time.sleep(0.3)
        seen["count"] = waits.count
        b.send(b"x")

    th, errors = run_in_thread(observer)
    rel.dispatch()
    th.join(10)
    assert not errors, errors
    assert seen["count"] == 1
    assert waits.timeouts[0] is not None and 3500 < waits.timeouts[0] <= 3600
    t.delete()


def test_timer_wait_is_bounded_by_next_deadline(rel, waits):
    """The wait asks for the time to the next timer, never more."""
    got = []
    start = time.monotonic()
    rel.timeout(0.2, lambda: got.append(time.monotonic() - start))
    rel.timeout(30, lambda: None)
    rel.loop()
    assert got and got[0] >= 0.2 - SLACK
    assert waits.timeouts and 0 < waits.timeouts[0] <= 0.2
    rel.init()


def test_close_from_another_thread_while_dispatching_is_refused(rel, socks, watchdog, waits):
    # Closing the poller under a running loop would break it mid-wait: the
    # call that would do it fails instead, and the loop is unharmed.
    dog = watchdog()
    a, b = socks()
    rel.read(a, lambda: True)
    outcome = []

    def closer():
        assert waits.wait_entered()
        try:
            facade.registrar.close()
        except RuntimeError as exc:
            outcome.append(exc)
        rel.abort()

    th, errors = run_in_thread(closer)
    rel.dispatch()
    th.join(10)
    assert not errors, errors
    assert not dog.barked
    assert outcome and "another thread" in str(outcome[0])
    fired = []
    rel.read(a, lambda: fired.append(a.recv(1)))
    b.send(b"x")
    rel.loop()
    assert fired == [b"x"], "the registrar still works after the refused close()"
