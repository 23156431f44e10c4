"""Callers pass rel 0.4.9.27's parameter names as keywords: they must keep working.

The names here are the original's (found by the ``differential`` session, which
compares every signature with rel 0.4.9.27's): ``signal(sig, callback, *args)``,
``set_verbose(isverb)``, ``log(text)``, ``Event(registrar, cb, ...)`` and
``Event.add(delay=None)``.
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
