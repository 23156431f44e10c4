"""rtimer where Windows differs: Ctrl-Break (SIGBREAK), the live line without
escape sequences, ~ as USERPROFILE, winsound for .wav files. The tests that
need Windows run under the ``windows`` nox session (a real CPython for
Windows, under Wine); the rest run everywhere."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys

import pytest
from conftest import TIMEOUT, WINDOWS, Sandbox
from rtimer import alarm, display, timer

windows_only = pytest.mark.skipif(not WINDOWS, reason="Windows semantics")


def under_wine() -> bool:
    """Whether this Windows is Wine (its ntdll exports wine_get_version)."""
    import ctypes

    return hasattr(ctypes.windll.ntdll, "wine_get_version")  # type: ignore[attr-defined]


def test_live_line_without_escapes_pads_over_the_last_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' form of the redraw (its console shows ESC[K as text unless a
    program turns escapes on): a carriage return and a full-width line."""
    monkeypatch.setattr(display, "REDRAW", "\r")
    monkeypatch.setenv("COLUMNS", "80")
    out = io.StringIO()
    line = display.LiveLine(out, 3)
    line.show(1)
    text = out.getvalue()
    assert "\x1b" not in text
    assert text.startswith("\r[") and len(text) == 1 + 79
    assert text.rstrip().endswith("elapsed 0:01  remaining 0:02")


@windows_only
def test_windows_redraw_has_no_escape_sequence() -> None:
    assert display.REDRAW == "\r"


@windows_only
def test_media_folder_is_under_userprofile(sandbox: Sandbox) -> None:
    """~ is USERPROFILE on Windows: the default ~/.rtimer/ is found there."""
    sandbox.media("alarm.txt")  # no player plays it: the bell rings instead
    result = sandbox.run("--quiet", "1")
    assert result.returncode == 0
    assert result.stdout == "time's up!\n\a"
    assert result.stderr.startswith("rtimer: no player found (mpv, ffplay,")
    assert "winsound plays .wav files" in result.stderr


@windows_only
def test_wav_falls_back_to_winsound_with_an_argument_list(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no player on PATH
    media = tmp_path / "$(echo x) & del x.wav"
    media.write_bytes(b"RIFF")
    command = alarm.find_player(str(media))
    assert command == [sys.executable, "-c", alarm.WINSOUND[2]]
    assert alarm.find_player(str(tmp_path / "a.ogg")) is None
    # It really runs, the file as one argument (not a WAV: winsound says so).
    done = subprocess.run([*command, str(media)], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode != 0 and "RuntimeError" in done.stderr


@windows_only
def test_sigbreak_stops_the_countdown_in_process() -> None:
    """Ctrl-Break raises SIGBREAK: rtimer stops as on Ctrl-C."""
    import rel_core as rel

    out = io.StringIO()
    t = timer.Timer(30, out=out, sound=False)
    rel.timeout(0.2, signal.raise_signal, signal.SIGBREAK)
    t.start()
    assert t.interrupted and not t.finished
    assert re.fullmatch(r"counting down 0:30\nstopped after 0:00\.\d of 0:30\n", out.getvalue())
    assert signal.getsignal(signal.SIGBREAK) == signal.SIG_DFL  # given back


@windows_only
def test_ctrl_break_from_the_parent_exits_130(sandbox: Sandbox) -> None:
    if under_wine():  # GenerateConsoleCtrlEvent needs a console, which Wine gives no pipe
        pytest.skip("Wine cannot send CTRL_BREAK_EVENT to a process without a console")
    proc = sandbox.start("--no-sound", "-s", "30",
                         creationflags=subprocess.CREATE_NEW_PROCESS_GROUP)  # type: ignore[attr-defined]
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "counting down 0:30\n"
        assert proc.stdout.readline() == "elapsed 0:01  remaining 0:29  (3%)\n"
        proc.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, (out, err)
    assert re.fullmatch(r"stopped after 0:0[1-9]\.\d of 0:30\n", out), out


def test_signal_watchers_given_back_after_a_run() -> None:
    before = {s: signal.getsignal(s) for s in filter(None, (signal.SIGINT, timer.SIGBREAK))}
    timer.Timer(1, out=io.StringIO(), sound=False).start()
    assert {s: signal.getsignal(s) for s in before} == before
