"""Watcher edges, each written against a change to listener.py that the
suite used to survive (see tests/mutation/): bad delays rejected before
anything changes, a negative delay is 0, pyevent's Event with its
defaults, and what pending() says while another thread's delete() and
add() are on their way to the loop."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any, List

import pytest

import rel_core.rel as facade
from rel_core.listener import EV_SIGNAL, Event, seconds


def test_a_delay_too_large_for_a_float_changes_nothing(rel):
    fired: List[int] = []
    t = rel.timeout(5, lambda: fired.append(1))
    with pytest.raises(OverflowError):
        t.add(10 ** 400)
    assert t.delay == 5.0 and t.pending()  # the timer is as it was
    with pytest.raises(OverflowError):
        rel.timeout(10 ** 400, lambda: None)
    t.delete()


def test_delays_come_back_as_floats():
    assert seconds(3) == 3.0 and type(seconds(3)) is float
    assert seconds(-2) == 0.0 and seconds(-0.5) == 0.0


def test_a_negative_delay_is_zero_so_timers_keep_the_order_they_were_armed_in(rel):
    order: List[str] = []
    rel.timeout(0, lambda: order.append("zero, armed first"))
    rel.timeout(-5, lambda: order.append("negative, armed second"))
    rel.timeout(5, rel.abort)
    rel.timeout(0.05, rel.abort)
    rel.dispatch()
    assert order == ["zero, armed first", "negative, armed second"]


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
    trace hook on the loop's thread)."""
    t = rel.timeout(30, lambda: None)
    applied_delete = threading.Event()
    resume = threading.Event()
    started = threading.Event()

    def hold_after_the_delete(frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_name == "_disarm_timer" and not applied_delete.is_set():
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
        t.add(30)
        assert applied_delete.wait(5)
        seen = t.pending()
    finally:
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
