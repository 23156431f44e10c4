"""The real ``rtimer`` command, run in subprocesses (see conftest.Sandbox)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time

import pytest
from conftest import TIMEOUT, Sandbox, console_script, posix_only

USAGE = "usage: rtimer [options] [seconds] [minutes] [hours] [update_increment]"
BAR = re.compile(r"\[#*-*\] +\d+%  elapsed \d+:\d\d  remaining \d+:\d\d")


def assert_no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text


# -- a full run -------------------------------------------------------------------------

def test_full_run_ends_with_times_up_and_exit_0(sandbox: Sandbox) -> None:
    result = sandbox.run("--no-sound", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "counting down 0:02\ntime's up!\n"
    assert result.stderr == ""
    assert result.seconds >= 2.0  # never early: the deadline is on the monotonic clock


def test_console_script(sandbox: Sandbox) -> None:
    script = console_script()
    if script is None:
        pytest.skip("the rtimer console script is not installed next to this Python")
    result = sandbox.run("--no-sound", "-s", "1", command=[script])
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("time's up!\n")
    assert_no_traceback(result.stderr)


def test_version_and_help_exit_0(sandbox: Sandbox) -> None:
    version = sandbox.run("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("rtimer ")
    helped = sandbox.run("--help")
    assert helped.returncode == 0
    assert helped.stdout.startswith(USAGE)
    for flag in ("--seconds", "--minutes", "--hours", "--increment", "--path", "--verbose",
                 "--quiet", "--no-sound", "mpv, ffplay, paplay, aplay, mplayer, afplay"):
        assert flag in helped.stdout


# -- output when stdout is not a terminal --------------------------------------------------

def test_not_a_terminal_plain_line_at_each_increment(sandbox: Sandbox) -> None:
    result = sandbox.run("--no-sound", "-s", "3")  # a flag: the increment defaults to 1
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "counting down 0:03\n"
        "elapsed 0:01  remaining 0:02  (33%)\n"
        "elapsed 0:02  remaining 0:01  (66%)\n"
        "time's up!\n"
    )
    assert "\x1b" not in result.stdout and "\r" not in result.stdout


def test_not_a_terminal_positional_increment(sandbox: Sandbox) -> None:
    result = sandbox.run("--no-sound", "2", "0", "0", "1")
    assert result.stdout == "counting down 0:02\nelapsed 0:01  remaining 0:01  (50%)\ntime's up!\n"


def test_not_a_terminal_no_increment_no_lines(sandbox: Sandbox) -> None:
    result = sandbox.run("--no-sound", "2")
    assert result.stdout == "counting down 0:02\ntime's up!\n"


def test_quiet_prints_only_the_end(sandbox: Sandbox) -> None:
    result = sandbox.run("--quiet", "--no-sound", "-s", "2")
    assert result.returncode == 0
    assert result.stdout == "time's up!\n"
    assert result.stderr == ""


def test_verbose_logs_rel_events_to_stderr(sandbox: Sandbox) -> None:
    result = sandbox.run("-v", "--no-sound", "1")
    assert result.returncode == 0
    assert result.stdout == "counting down 0:01\ntime's up!\n"
    assert "rel" in result.stderr and "initialized" in result.stderr
    assert_no_traceback(result.stderr)


def test_verbose_turns_rel_debug_mode_on(sandbox: Sandbox) -> None:
    result = sandbox.run("-v", "--no-sound", "1")
    assert result.returncode == 0
    assert re.search(r"^rel: debug mode on the \w+ registrar \(slow callback threshold 0\.1 s\)$",
                     result.stderr, re.M), result.stderr


def test_verbose_shows_debug_warnings(sandbox: Sandbox) -> None:
    """With a 1 us threshold (REL_DEBUG) every callback is slow: -v shows
    the warnings, naming rtimer's own callbacks."""
    sandbox.env["REL_DEBUG"] = "0.000001"
    result = sandbox.run("-v", "--no-sound", "1")
    assert result.returncode == 0
    assert re.search(r"^rel: slow callback Timer\.update \(.*rtimer[/\\]timer\.py:\d+\), of the "
                     r"timer \(delay [\d.]+ s\), took [\d.]+ s \(threshold 1e-06 s\)$",
                     result.stderr, re.M), result.stderr
    assert_no_traceback(result.stderr)


@posix_only
# -- Ctrl-C -----------------------------------------------------------------------------------

def test_sigint_mid_countdown_prints_elapsed_and_exits_130(sandbox: Sandbox) -> None:
    proc = sandbox.start("--no-sound", "-s", "30")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "counting down 0:30\n"  # rel's handler is armed
        assert proc.stdout.readline() == "elapsed 0:01  remaining 0:29  (3%)\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert re.fullmatch(r"stopped after 0:0[1-9]\.\d of 0:30\n", out), out
    assert err == ""

@posix_only

def test_sigint_under_a_terminal(sandbox: Sandbox) -> None:
    result = sandbox.run_in_pty("--no-sound", "30", interrupt_after="elapsed 0:01")
    assert result.returncode == 130
    assert re.search(r"stopped after 0:0[1-9]\.\d of 0:30\r\n$", result.stdout), repr(result.stdout)
    assert_no_traceback(result.stdout)


@posix_only
# -- output on a terminal -----------------------------------------------------------------------

def test_terminal_live_line_redrawn_in_place(sandbox: Sandbox) -> None:
    result = sandbox.run_in_pty("--no-sound", "2")
    assert result.returncode == 0, result.stdout
    out = result.stdout
    assert out.startswith("counting down 0:02 (Ctrl-C to stop)\r\n")
    frames = out.split("\r\x1b[K")[1:]  # each redraw: carriage return, erase line
    assert len(frames) == 3, repr(out)  # at 0 s, 1 s, and the 100% of the end
    assert all(BAR.fullmatch(frame.split("\r\n")[0]) for frame in frames), repr(out)
    assert frames[0] == "[" + "-" * 40 + "]   0%  elapsed 0:00  remaining 0:02"
    assert frames[1] == "[" + "#" * 20 + "-" * 20 + "]  50%  elapsed 0:01  remaining 0:01"
    assert frames[-1] == "[" + "#" * 40 + "] 100%  elapsed 0:02  remaining 0:00\r\ntime's up!\r\n"
    assert "Traceback" not in out

@posix_only

def test_terminal_increment_is_irrelevant_to_the_live_line(sandbox: Sandbox) -> None:
    result = sandbox.run_in_pty("--no-sound", "2", "0", "0", "60")
    assert result.returncode == 0
    assert len(result.stdout.split("\r\x1b[K")) - 1 >= 3

@posix_only

def test_terminal_quiet(sandbox: Sandbox) -> None:
    result = sandbox.run_in_pty("--quiet", "--no-sound", "1")
    assert result.returncode == 0
    assert result.stdout == "time's up!\r\n"


# -- bad input ------------------------------------------------------------------------------------

BAD_INPUTS = {
    "non-integer": ["x"],
    "fraction": ["1.5"],
    "non-integer minutes": ["0", "five"],
    "non-integer flag": ["-m", "abc"],
    "negative": ["-5"],
    "negative flag": ["-s", "-1"],
    "negative increment": ["5", "0", "0", "-1"],
    "nothing": [],
    "all zero": ["0", "0", "0"],
    "only an increment": ["0", "0", "0", "5"],
    "only a flag increment": ["-i", "2"],
    "unknown flag": ["--bogus", "5"],
    "unknown short flag": ["-z", "5"],
    "too many": ["1", "2", "3", "4", "5"],
    "flag without value": ["-s"],
}


@pytest.mark.parametrize("args", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_one_line_and_usage_exit_2(sandbox: Sandbox, args: list) -> None:
    check_bad_input(sandbox.run(*args, timeout=10))


def test_path_that_does_not_exist(sandbox: Sandbox) -> None:
    result = sandbox.run("-p", str(sandbox.root / "nowhere"), "1", timeout=10)
    check_bad_input(result)
    assert "nowhere" in result.stderr


def test_path_that_is_a_file(sandbox: Sandbox) -> None:
    (sandbox.root / "file").write_text("")
    check_bad_input(sandbox.run("--path", str(sandbox.root / "file"), "1", timeout=10))


def check_bad_input(result) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == USAGE
    assert len(lines) == 2 and lines[1].startswith("rtimer: error: "), result.stderr
    assert_no_traceback(result.stderr)


@posix_only
# -- the alarm --------------------------------------------------------------------------------------

def test_bell_when_no_media(sandbox: Sandbox) -> None:
    sandbox.fake_player("mpv")
    result = sandbox.run("1")
    assert result.returncode == 0
    assert result.stdout == "counting down 0:01\ntime's up!\n\a"
    assert result.stderr == ""
    assert not (sandbox.root / "record").exists()


def test_bell_when_no_player(sandbox: Sandbox) -> None:
    sandbox.media("alarm.ogg")  # not .wav: Windows plays those with winsound
    result = sandbox.run("--quiet", "1")
    assert result.returncode == 0
    assert result.stdout == "time's up!\n\a"
    assert result.stderr.startswith("rtimer: no player found (mpv, ffplay,")

@posix_only

def test_no_sound_neither_player_nor_bell(sandbox: Sandbox) -> None:
    sandbox.media("alarm.wav")
    record = sandbox.fake_player("mpv")
    result = sandbox.run("--no-sound", "1")
    assert result.returncode == 0
    assert "\a" not in result.stdout
    assert not record.exists()


@posix_only
@pytest.mark.parametrize("player, args", [
    ("mpv", ["--no-video", "--no-terminal"]),
    ("ffplay", ["-nodisp", "-autoexit", "-loglevel", "quiet"]),
    ("aplay", ["-q"]),
    ("afplay", []),
])
def test_player_argv(sandbox: Sandbox, player: str, args: list) -> None:
    media = sandbox.media("alarm.wav")
    record = sandbox.fake_player(player)
    result = sandbox.run("1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "counting down 0:01\ntime's up!\n"  # no bell: the player played
    assert record.read_bytes().split(b"\0") == [
        str(sandbox.bin / player).encode(), *(a.encode() for a in args),
        str(media / "alarm.wav").encode(), b"END", b""]

@posix_only

def test_first_player_on_the_list_wins(sandbox: Sandbox) -> None:
    sandbox.media("alarm.wav")
    record = sandbox.fake_player("afplay")
    sandbox.fake_player("ffplay")  # the same record file: whoever runs writes it
    sandbox.run("1")
    assert record.read_bytes().split(b"\0")[0] == str(sandbox.bin / "ffplay").encode()


SHELLY = "$(touch pwned); touch pwned2 `touch pwned3` 'q' \"dq\" | & > x.mp3"

@posix_only

def test_media_name_with_shell_metacharacters_is_one_argument(sandbox: Sandbox) -> None:
    media = sandbox.media(SHELLY, ".hidden-not-media")
    (media / "subfolder").mkdir()
    record = sandbox.fake_player("mpv")
    # first on the real PATH: a shell running the name would find `touch`
    sandbox.env["PATH"] = str(sandbox.bin) + os.pathsep + os.environ.get("PATH", os.defpath)
    result = sandbox.run("1")
    assert result.returncode == 0, result.stderr
    runs = record.read_bytes().split(b"\0END\0")
    assert runs == [b"\0".join([str(sandbox.bin / "mpv").encode(), b"--no-video", b"--no-terminal",
                                str(media / SHELLY).encode()]), b""]
    # nothing else ran: no shell expanded the name anywhere
    for folder in (sandbox.root, sandbox.cwd, sandbox.home, media, sandbox.bin):
        assert not [p for p in folder.iterdir() if p.name.startswith("pwned")], folder
    assert sorted(p.name for p in media.iterdir()) == sorted([SHELLY, ".hidden-not-media", "subfolder"])

@posix_only

def test_each_run_plays_a_file_of_the_folder(sandbox: Sandbox) -> None:
    media = sandbox.media("a.wav", "b.wav")
    record = sandbox.fake_player("paplay")
    for _ in range(2):
        assert sandbox.run("--quiet", "1").returncode == 0
    runs = record.read_bytes().split(b"\0END\0")[:-1]
    assert len(runs) == 2
    for run in runs:
        assert run.split(b"\0")[-1] in (str(media / "a.wav").encode(), str(media / "b.wav").encode())

@posix_only

def test_path_flag_chooses_the_media_folder(sandbox: Sandbox) -> None:
    folder = sandbox.root / "sounds"
    folder.mkdir()
    (folder / "ding.ogg").write_bytes(b"")
    record = sandbox.fake_player("mpv")
    assert sandbox.run("-p", str(folder), "1").returncode == 0
    assert record.read_bytes().split(b"\0")[-3] == str(folder / "ding.ogg").encode()

@posix_only

def test_sigint_during_the_alarm_silences_it_exit_0(sandbox: Sandbox) -> None:
    sleep = shutil.which("sleep") or "/bin/sleep"
    sandbox.media("long.wav")
    record = sandbox.fake_player("mpv", then="exec %s 60" % (sleep,))
    proc = sandbox.start("1")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "counting down 0:01\n"
        assert proc.stdout.readline() == "time's up!\n"
        for _ in range(100):  # the player has started once it has written its record
            if record.exists() and record.read_bytes().endswith(b"END\0"):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0  # the countdown completed; Ctrl-C only silenced the alarm
    assert out == ""
    assert_no_traceback(err)
