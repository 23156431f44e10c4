"""rel 0.4.9.27's API where the ``differential`` session found ours differed.

Callers pass the original's parameter names as keywords, so they must be the
original's (that session compares every signature with rel 0.4.9.27's):
``signal(sig, callback, *args)``, ``set_verbose(isverb)``, ``log(text)``,
``Event(registrar, cb, ...)`` and ``Event.add(delay=None)``. And what a call
does: ``Signal.add(delay)`` also runs the callback once after the delay.
"""

from __future__ import annotations

import os
import signal

import pytest

import rel_core.logs
from rel_core.listener import EV_READ, EV_TIMEOUT, Event


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1")
def test_signal_takes_callback_by_keyword(rel, guard):
    got = []
    watcher = rel.signal(signal.SIGUSR1, callback=lambda: got.append("usr1"))
    assert watcher.pending()
    g = guard()
    rel.timeout(0.01, os.kill, os.getpid(), signal.SIGUSR1)
    rel.timeout(0.2, rel.abort)
    rel.dispatch()
    assert got == ["usr1"] and not g.expired


def test_set_verbose_takes_isverb_by_keyword(rel, rel_logs):
    rel.set_verbose(isverb=True)
    assert rel_core.logs.verbose
    rel_core.logs.log(text="hello by keyword")
    assert "hello by keyword" in rel_logs.text
    rel.set_verbose(isverb=False)
    assert not rel_core.logs.verbose


def test_log_takes_one_text_and_more(rel, rel_logs):
    rel.set_verbose(True)
    rel_core.logs.log("one")
    rel_core.logs.log("two", 2, "parts")
    assert "one" in rel_logs.text and "two 2 parts" in rel_logs.text


def test_event_add_takes_delay_by_keyword(rel, guard):
    fired = []
    ev = rel.event(lambda ev, handle, evtype, arg: fired.append((evtype, arg)), "a")
    ev.add(delay=0.01)
    assert ev.pending()
    g = guard()
    rel.timeout(0.2, rel.abort)
    rel.dispatch()
    assert fired == [(EV_TIMEOUT, "a")] and not g.expired


def test_event_class_takes_cb_by_keyword(rel, socks, guard):
    a, b = socks()
    fired = []
    reg = rel_core.rel.registrar
    ev = Event(reg, cb=lambda ev, handle, evtype, arg: fired.append(evtype), arg=None,
               evtype=EV_READ, handle=a)
    ev.add()
    b.send(b"x")
    rel.loop()
    assert fired == [EV_READ]


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1")
def test_signal_add_delay_runs_the_callback_once_after_it(rel, guard):
    got = []
    s = rel.signal(signal.SIGUSR1, got.append, "delayed")
    s.delete()
    s.add(0.02)
    g = guard()
    rel.timeout(0.3, rel.abort)
    rel.dispatch()
    assert got == ["delayed"] and not g.expired
    assert s.pending()  # still handling the signal itself
    s.delete()


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1")
def test_signal_deleted_before_its_delay_does_not_run(rel, guard):
    got = []
    s = rel.signal(signal.SIGUSR1, got.append, "never")
    s.add(0.02)
    s.delete()
    assert rel.report()["timers"] == 0
    rel.timeout(0.1, rel.abort)
    g = guard()
    rel.dispatch()
    assert got == [] and not g.expired
