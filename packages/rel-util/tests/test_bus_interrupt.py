"""transpire() runs every waiting callback even when one raises
KeyboardInterrupt (issue #14): the docstring's promise, for any exception."""

from __future__ import annotations

from typing import List

import pytest
from rel_util import bus
from rel_util.bus import transpire, when


@pytest.fixture(autouse=True)
def clean_bus():
    bus.happenings.clear()
    bus.transpired.clear()
    yield
    bus.happenings.clear()
    bus.transpired.clear()


def test_keyboard_interrupt_in_one_callback_still_runs_the_others():
    calls: List[str] = []

    def interrupted() -> None:
        calls.append("first")
        raise KeyboardInterrupt

    when("ev", interrupted)
    when("ev", calls.append, "second")
    when("ev", calls.append, "third")
    with pytest.raises(KeyboardInterrupt):
        transpire("ev")
    assert calls == ["first", "second", "third"]
    assert "ev" not in bus.happenings  # nothing left behind to run twice
    transpire("ev")
    assert calls == ["first", "second", "third"]


def test_the_first_of_several_errors_is_the_one_raised():
    def interrupt() -> None:
        raise KeyboardInterrupt

    def fail() -> None:
        raise ValueError("second")

    when("ev2", fail)
    when("ev2", interrupt)
    with pytest.raises(ValueError, match="second"):
        transpire("ev2")
