"""Watcher edges, each written against a change to listener.py that the
suite used to survive (see tests/mutation/): bad delays rejected before
anything changes, a negative delay kept as given, pyevent's Event with its
defaults, and what pending() says while another thread's delete() and
add() are on their way to the loop."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, List

import fractions

import pytest

import rel_core.rel as facade
from rel_core.listener import EV_PERSIST, EV_READ, EV_SIGNAL, EV_WRITE, Event, seconds


def test_a_delay_too_large_for_a_float_changes_nothing(rel):
    fired: List[int] = []
    t = rel.timeout(5, lambda: fired.append(1))
    with pytest.raises(OverflowError):
        t.add(10 ** 400)
    assert t.delay == 5 and t.pending()  # the timer is as it was
    with pytest.raises(OverflowError):
        rel.timeout(10 ** 400, lambda: None)
    t.delete()


def test_delays_come_back_as_given_negative_too():
    # rel 0.4.9.27's timer.delay reads back an int as an int and a negative
    # delay as it was given (the differential's timers program); a Fraction or
    # numpy-like real becomes a float.
    assert seconds(3) == 3 and type(seconds(3)) is int
    assert seconds(fractions.Fraction(1, 2)) == 0.5 and type(seconds(fractions.Fraction(1, 2))) is float
    assert seconds(-2) == -2 and type(seconds(-2)) is int
    assert seconds(-0.5) == -0.5 and seconds(fractions.Fraction(-1, 4)) == -0.25
    assert seconds(0) == 0 and type(seconds(0)) is int
    with pytest.raises(OverflowError):
        seconds(-10 ** 400)


def test_a_zero_delay_reads_back_as_the_int_given(rel):
    """rel 0.4.9.27: ``rel.timeout(0, f).delay`` is the int 0, as given."""
    t = rel.timeout(0, lambda: None)
    assert t.delay == 0 and type(t.delay) is int
    t.delete()


def test_a_negative_delay_is_due_in_the_past_so_it_runs_before_a_zero_armed_first(rel):
    """As rel 0.4.9.27: the deadline is ``delay`` seconds from now, in the
    past for a negative one, and due timers run in deadline order."""
    order: List[str] = []
    rel.timeout(0, lambda: order.append("zero, armed first"))
    rel.timeout(-0.5, lambda: order.append("-0.5, armed second"))
    t = rel.timeout(-5, lambda: order.append("-5, armed third"))
    assert t.delay == -5 and type(t.delay) is int
    rel.timeout(5, rel.abort)
    rel.timeout(0.05, rel.abort)
    rel.dispatch()
    assert order == ["-5, armed third", "-0.5, armed second", "zero, armed first"]


def test_an_event_with_its_defaults_is_a_pure_timer(rel):
    fired: List[Any] = []
    ev = Event(facade.registrar, lambda ev, handle, evtype, arg: fired.append((evtype, arg)))
    ev.add(0.01)
    assert ev.pending()
    rel.timeout(5, rel.abort)
    t = rel.timeout(0.2, rel.abort)
    rel.dispatch()
    t.delete()
    assert fired == [(1, None)]  # EV_TIMEOUT, the default arg
    assert not ev.pending()


def test_pending_answers_a_delete_then_add_from_another_thread_until_both_are_applied(rel):
    """The main thread deletes and re-adds a timer while the loop runs in
    another: pending() is True from the add() on, even at the instant the
    loop has applied the delete() but not yet the add() (held there by a
    trace hook on the loop's thread). The add() is made once the loop has
    taken the delete() off its queue: before, the two would fold into one."""
    t = rel.timeout(30, lambda: None)
    taken = threading.Event()
    go_on = threading.Event()
    applied_delete = threading.Event()
    resume = threading.Event()
    started = threading.Event()

    def hold_after_the_delete(frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_name == "_disarm_timer" and not applied_delete.is_set():
            taken.set()
            go_on.wait(5)

            def on_return(frame: Any, event: str, arg: Any) -> Any:
                if event == "return":
                    applied_delete.set()
                    resume.wait(5)
                return on_return
            return on_return
        return None

    def loop() -> None:
        sys.settrace(hold_after_the_delete)
        try:
            rel.timeout(0, started.set)
            rel.dispatch()
        finally:
            sys.settrace(None)

    keeper = rel.timeout(30, lambda: None)  # the loop has work until aborted
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        assert started.wait(5)
        t.delete()
        assert taken.wait(5)
        t.add(30)
        go_on.set()
        assert applied_delete.wait(5)
        seen = t.pending()
    finally:
        go_on.set()
        resume.set()
    rel.abort()
    thread.join(5)
    assert not thread.is_alive()
    assert seen is True
    assert t.pending()
    t.delete()
    keeper.delete()


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="SIGUSR1")
def test_a_signal_event_is_armed_by_add_not_by_its_creation(rel):
    before = signal.getsignal(signal.SIGUSR1)
    fired: List[Any] = []
    ev = Event(facade.registrar, lambda ev, handle, evtype, arg: fired.append(evtype),
               None, EV_SIGNAL, signal.SIGUSR1)
    assert not ev.pending()
    assert signal.getsignal(signal.SIGUSR1) is before  # nothing installed yet
    ev.add()
    assert ev.pending()
    assert signal.getsignal(signal.SIGUSR1) is not before
    ev.delete()
    assert not ev.pending()


@pytest.mark.parametrize("ending", ["returns None", "raises"])
def test_a_callback_that_re_adds_its_own_watcher_keeps_it(rel, socks, ending):
    """Calling add() on its own watcher takes control: the callback's falsy
    return (or exception) no longer disarms it."""
    a, b = socks()
    calls: List[int] = []

    def on_read() -> None:
        a.recv(10)
        calls.append(1)
        w.add()
        if len(calls) == 2:
            rel.abort()
        if ending == "raises" and len(calls) == 1:
            raise RuntimeError("after add()")

    w = rel.read(a, on_read)
    b.send(b"1")
    rel.timeout(0.05, lambda: b.send(b"2") and None)
    rel.timeout(5, rel.abort)
    if ending == "raises":
        with pytest.raises(RuntimeError):
            rel.dispatch()
        assert w.pending()
    rel.dispatch()
    assert calls == [1, 1]  # still armed after the first: it heard the second byte


def test_an_io_event_is_armed_by_add_not_by_its_creation(rel, socks):
    a, b = socks()
    ev = Event(facade.registrar, lambda ev, handle, evtype, arg: None, None, EV_READ | EV_WRITE, a)
    assert not ev.pending()
    assert rel.report()["reads"] == 0 and rel.report()["writes"] == 0
    ev.add()
    assert ev.pending()
    assert rel.report()["reads"] == 1 and rel.report()["writes"] == 1
    ev.delete()
    assert not ev.pending()


class IntLike:
    """Not an int, though it hashes, compares and indexes as one."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __index__(self) -> int:
        return self.n

    def __hash__(self) -> int:
        return hash(self.n)

    def __eq__(self, other: object) -> bool:
        return other == self.n


SOME_SIGNAL = int(getattr(signal, "SIGUSR2", signal.SIGTERM))


@pytest.mark.parametrize("sig", ["SIGUSR1", 10.0, None, IntLike(SOME_SIGNAL)],
                         ids=["str", "float", "None", "int-like"])
def test_a_signal_that_is_not_an_int_is_a_type_error(rel, sig):
    with pytest.raises(TypeError):
        facade.registrar.signal(sig, lambda: None)  # the facade checks too: this is the watcher's own check


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX fd numbers (os.dup2)")
def test_fd_0_can_be_watched_like_any_other(rel, socks):
    """fd 0 is an fd like the others (a daemon's stdin may well be its socket)."""
    a, b = socks()
    saved = os.dup(0)
    try:
        os.dup2(a.fileno(), 0)
        got: List[bytes] = []

        def on_read() -> bool:
            got.append(os.read(0, 10))
            rel.abort()
            return False

        w = rel.read(0, on_read)
        b.send(b"zero")
        rel.timeout(5, rel.abort)
        rel.dispatch()
        assert got == [b"zero"]
        w.delete()
    finally:
        os.dup2(saved, 0)
        os.close(saved)


def test_a_persistent_event_whose_callback_raises_is_deleted_timeout_and_all(rel, socks):
    a, b = socks()

    def on_event(ev: Any, handle: Any, evtype: int, arg: Any) -> None:
        raise RuntimeError("callback trouble")

    ev = Event(facade.registrar, on_event, None, EV_READ | EV_PERSIST, a)
    ev.add(30)  # with a timeout, far off
    b.send(b"x")
    rel.timeout(5, rel.abort)
    with pytest.raises(RuntimeError):
        rel.dispatch()
    assert not ev.pending()
    assert not ev.timeout.pending()
