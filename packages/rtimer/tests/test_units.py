"""rtimer's pieces, in process: argument parsing, clocks, the live line, media choice,
and the Timer class that rel.tools re-exports."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import rtimer
from hypothesis import given
from hypothesis import strategies as st
from rtimer import alarm, display
from rtimer.cli import parse_args

amounts = st.integers(min_value=0, max_value=10**6)


def test_public_names() -> None:
    assert callable(rtimer.timerCLI) and callable(rtimer.main)
    assert isinstance(rtimer.Timer, type)
    assert rtimer.RT_MEDIA == os.path.join(os.path.expanduser("~"), ".rtimer")


@given(amounts, amounts, amounts, amounts)
def test_positionals(s: int, m: int, h: int, i: int) -> None:
    if not (s or m or h):
        return
    args = parse_args([str(s), str(m), str(h), str(i)])
    assert (args.seconds, args.minutes, args.hours, args.increment) == (s, m, h, i)


@given(amounts, amounts, amounts)
def test_a_flag_makes_the_increment_default_to_1(s: int, m: int, h: int) -> None:
    if not (s or m or h):
        return
    assert parse_args([str(s), str(m), str(h)]).increment == 0
    args = parse_args(["-s", str(s), "-m", str(m), "-r", str(h)])
    assert (args.seconds, args.minutes, args.hours, args.increment) == (s, m, h, 1)
    assert parse_args(["-i", "7", str(s), str(m), str(h)]).increment == 7


def test_positional_wins_unless_zero_as_rel() -> None:
    args = parse_args(["5", "0", "-s", "9", "-m", "2"])
    assert (args.seconds, args.minutes, args.increment) == (5, 2, 1)


def test_options() -> None:
    args = parse_args(["1"])
    assert (args.quiet, args.sound, args.verbose, args.path) == (False, True, False, rtimer.RT_MEDIA)
    args = parse_args(["1", "--quiet", "--no-sound", "-v", "-p", "~"])
    assert (args.quiet, args.sound, args.verbose, args.path) == (True, False, True, os.path.expanduser("~"))


@pytest.mark.parametrize("seconds, hours, text", [
    (0, False, "0:00"), (59.99, False, "0:59"), (61, False, "1:01"), (3599, False, "59:59"),
    (3600, False, "1:00:00"), (61, True, "0:01:01"), (100 * 3600 + 1, False, "100:00:01"),
])
def test_clock(seconds: float, hours: bool, text: str) -> None:
    assert display.clock(seconds, hours) == text


@given(st.integers(min_value=1, max_value=10**6), st.floats(min_value=0, max_value=1))
def test_status_clocks_add_up_to_the_goal(goal: int, fraction: float) -> None:
    shown = display.Lines(io.StringIO(), goal, 1).status(goal * fraction)
    elapsed, remaining = shown.replace("elapsed ", "").split("  remaining ")

    def seconds(clock: str) -> int:
        total = 0
        for part in clock.split(":"):
            total = total * 60 + int(part)
        return total

    assert seconds(elapsed) + seconds(remaining) == goal


@pytest.mark.parametrize("columns", [20, 40, 60, 80, 200])
def test_live_line_fits_the_terminal(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    live = display.LiveLine(io.StringIO(), 3 * 3600)
    for elapsed in (0, 1, 5000, 3 * 3600):
        assert len(live.line(elapsed)) <= columns - 1
    assert ("[" in live.line(0)) == (columns >= 60)


def test_live_line_on_a_terminal_of_unknown_width(monkeypatch: pytest.MonkeyPatch) -> None:
    # A new pseudo-terminal reports 0 columns; shutil.get_terminal_size() passes that on
    # before Python 3.11 (3.11 substitutes its fallback, 80): the line must not be cut to nothing.
    monkeypatch.setattr(display.shutil, "get_terminal_size", lambda: os.terminal_size((0, 0)))
    live = display.LiveLine(io.StringIO(), 2)
    # (rstrip: on Windows the line is padded to the width, to overwrite without escapes)
    assert live.line(1).rstrip() == "[" + "#" * 20 + "-" * 20 + "]  50%  elapsed 0:01  remaining 0:01"


def test_choose() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(display.choose(Tty(), 5, 1), display.LiveLine)
    assert isinstance(display.choose(io.StringIO(), 5, 1), display.Lines)
    assert isinstance(display.choose(Tty(), 5, 1, quiet=True), display.Quiet)


def test_pick_media(tmp_path: Path) -> None:
    assert alarm.pick_media(str(tmp_path / "missing")) is None
    assert alarm.pick_media(None) is None
    assert alarm.pick_media(str(tmp_path)) is None
    (tmp_path / ".hidden").write_text("")
    (tmp_path / "folder").mkdir()
    assert alarm.pick_media(str(tmp_path)) is None
    for name in ("a.wav", "b.mp3", "-c.ogg"):
        (tmp_path / name).write_text("")
    picked = {alarm.pick_media(str(tmp_path)) for _ in range(200)}
    assert picked == {str(tmp_path / name) for name in ("a.wav", "b.mp3", "-c.ogg")}


def test_pick_media_paths_are_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "-o").write_text("")  # would read as an option if it were relative
    monkeypatch.chdir(tmp_path.parent)
    assert alarm.pick_media(tmp_path.name) == str(tmp_path / "-o")


@pytest.mark.parametrize("args, message", [
    ((0, 0, 0), "nothing to count down"),
    ((-1, 1, 0), "seconds must not be negative"),
    (("x",), "seconds must be a whole number"),
    ((1, 0, 0, "y"), "interval must be a whole number"),
])
def test_timer_rejects(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rtimer.Timer(*args)


def test_timer_as_rel_tools_uses_it(tmp_path: Path) -> None:
    out = io.StringIO()
    timer = rtimer.Timer("1", 0, 0, 1, str(tmp_path), sound=False, out=out)
    assert (timer.goal, timer.count, timer.finished) == (1, 0, False)
    timer.start()  # runs rel's loop until the time is up
    assert timer.finished and not timer.interrupted
    assert timer.count == 1 and timer.elapsed >= 1.0
    assert out.getvalue() == "counting down 0:01\ntime's up!\n"
