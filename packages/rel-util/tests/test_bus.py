"""The bus: listen/emit/ask for channels, when/transpire for one-time events."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from typing import Any, List

import pytest
import rel_core as rel
from rel_util import bus
from rel_util.bus import ask, emit, listen, loudListen, transpire, when


@pytest.fixture(autouse=True)
def clean_bus():
    bus.listeners.clear()
    bus.happenings.clear()
    bus.transpired.clear()
    loudListen(True)
    yield
    bus.listeners.clear()
    bus.happenings.clear()
    bus.transpired.clear()
    loudListen(True)
    rel.set_verbose(False)


def test_emit_calls_every_listener_in_order():
    calls: List[Any] = []
    listen("ch", lambda *a, **k: calls.append(("first", a, k)) or "an answer")
    listen("ch", lambda *a, **k: calls.append(("second", a, k)))
    listen("other", lambda *a, **k: calls.append(("other", a, k)))
    emit("ch", 1, 2, key="v")  # a listener's answer does not stop the others
    assert calls == [("first", (1, 2), {"key": "v"}), ("second", (1, 2), {"key": "v"})]
    emit("ch")
    assert calls[2:] == [("first", (), {}), ("second", (), {})]


def test_emit_stops_at_a_listeners_exception():
    calls: List[str] = []

    def bad() -> None:
        calls.append("bad")
        raise KeyError("listener")

    listen("ch", bad)
    listen("ch", lambda: calls.append("after"))
    with pytest.raises(KeyError):
        emit("ch")
    assert calls == ["bad"]


def test_ask_returns_the_first_listeners_answer():
    asked: List[str] = []
    listen("q", lambda x: asked.append("first") or x * 2)
    listen("q", lambda x: asked.append("second") or x * 3)
    assert ask("q", 21) == 42
    assert asked == ["first"]


def test_nobody_listening():
    calls: List[str] = []
    listen("somebody", lambda *a: calls.append("somebody"))
    emit("nobody")
    assert ask("nobody", 1) is None  # ask's documented answer when nobody listens
    assert calls == []
    assert list(bus.listeners) == ["somebody"], "an emit or ask to nobody creates no channel"


def test_loud_listen_logs_unheard_emits_and_asks(caplog):
    rel.set_verbose(True)
    with caplog.at_level(logging.DEBUG, logger="rel"):
        emit("void")
        ask("abyss")
    text = caplog.text
    assert "emit(void): no one's listening" in text
    assert "ask(abyss): no one's listening" in text
    caplog.clear()
    loudListen(False)
    with caplog.at_level(logging.DEBUG, logger="rel"):
        emit("void")
    assert "no one's listening" not in caplog.text


def test_listener_added_during_emit_runs_next_time():
    calls: List[str] = []

    def first():
        calls.append("first")
        listen("ch", lambda: calls.append("late"))

    listen("ch", first)
    emit("ch")
    assert calls == ["first"]
    emit("ch")
    assert calls == ["first", "first", "late"]


def test_listen_rejects_non_callables():
    with pytest.raises(TypeError):
        listen("ch", "not callable")
    with pytest.raises(TypeError):
        when("ev", None)


def test_when_before_transpire_waits_then_runs_once():
    calls: List[Any] = []
    when("ready", lambda *a, **k: calls.append((a, k)), 1, x=2)
    when("ready", lambda: calls.append("second"))
    assert calls == []
    transpire("ready")
    assert calls == [((1,), {"x": 2}), "second"]
    transpire("ready")  # idempotent
    assert len(calls) == 2


def test_when_after_transpire_runs_at_once():
    transpire("done")  # nobody waiting: still counts
    calls: List[int] = []
    when("done", calls.append, 7)
    assert calls == [7]


def test_when_and_transpire_inside_callbacks():
    calls: List[str] = []

    def waiter():
        calls.append("waiter")
        when("ev", lambda: calls.append("inner"))  # already transpired: now
        transpire("ev")  # again: nothing

    when("ev", waiter)
    transpire("ev")
    assert calls == ["waiter", "inner"]


def test_transpire_runs_every_callback_then_raises_the_first_error():
    calls: List[str] = []

    def boom():
        raise ValueError("first")

    when("ev", boom)
    when("ev", lambda: calls.append("still runs"))
    with pytest.raises(ValueError, match="first"):
        transpire("ev")
    assert calls == ["still runs"]
    transpire("ev")
    assert calls == ["still runs"]


def test_emit_propagates_a_listeners_exception():
    listen("ch", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        emit("ch")


def _race_round(event: Any) -> List[int]:
    counts = [0] * 40
    barrier = threading.Barrier(3)

    def bump(i: int) -> None:
        counts[i] += 1

    def waiter(lo: int, hi: int) -> None:
        barrier.wait()
        for i in range(lo, hi):
            when(event, bump, i)

    def firer() -> None:
        barrier.wait()
        transpire(event)

    threads = [threading.Thread(target=waiter, args=(0, 20)),
               threading.Thread(target=waiter, args=(20, 40)),
               threading.Thread(target=firer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return counts


def test_when_transpire_race_runs_each_callback_exactly_once():
    for round_ in range(50):
        assert _race_round(("race", round_)) == [1] * 40


def test_compat_paths():
    """rel 0.4.9.27 exposed these module globals."""
    assert isinstance(bus.listeners, dict) and isinstance(bus.happenings, dict)
    listen("ch", print)
    when("ev", print)
    assert bus.listeners == {"ch": [print]}
    assert bus.happenings == {"ev": [(print, (), {})]}
    transpire("ev")
    assert bus.transpired == {"ev"} and bus.happenings == {}


def test_loud_by_default():
    """A fresh process logs unheard emits without loudListen(True) (the
    fixture here sets it, so this runs in a process of its own)."""
    code = (
        "import logging, sys\n"
        "logging.basicConfig(stream=sys.stdout, level=logging.DEBUG)\n"
        "import rel_core, rel_util.bus as bus\n"
        "rel_core.set_verbose(True)\n"
        "print('LOUD', bus.LOUD)\n"
        "bus.emit('void')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert "LOUD True" in out
    assert "emit(void): no one's listening" in out
