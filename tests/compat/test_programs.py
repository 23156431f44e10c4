"""Old programs run unchanged, each in its own interpreter (see programs/)."""

from __future__ import annotations

import re
import sys

import pytest


def test_pyevent_program_after_override(run_program):
    done = run_program("pyevent_override")
    assert done.returncode == 0, done
    assert done.lines == [
        "event module event True",
        "read ping",
        "signal True",
        "event True True pong-arg pong",
        "event-timeout True late",
        "dispatch returned",
    ], done


def test_cantools_init_rel_and_creeper(run_program):
    done = run_program("cantools_init_rel")
    assert done.returncode == 0, done
    assert done.lines[:3] == ["creep 1", "creep 2", "creep 3"], done
    match = re.fullmatch(r"stopped after 3 creeps in ([0-9.]+) s", done.lines[3])
    assert match, done
    # three 0.05 s periods, loosely bounded: set_sleep/set_turbo must not slow it
    assert 0.1 <= float(match.group(1)) < 10, done
    assert done.lines[4:] == ["running False"], done


def test_dez_socket_daemon_on_poll_verbose(run_program):
    done = run_program("dez_socket_daemon")
    assert done.returncode == 0, done
    assert done.lines[0] == "registrar poll", done
    assert "replies ['echo:hello 0', 'echo:hello 1', 'echo:hello 2']" in done.lines, done
    assert "guard" not in done.stdout, done
    # abort() dropped every read/write watcher
    report = [ln for ln in done.lines if ln.startswith("report ")][0]
    assert "('reads', 0)" in report and "('writes', 0)" in report, done
    # 'verbose': rel's event log goes to stderr, as rel's printed lines did
    assert "poll" in done.stderr, done


@pytest.mark.skipif(sys.platform == "win32", reason="no epoll nor select on pipes of this kind")
def test_old_submodule_paths(run_program):
    done = run_program("old_paths")
    assert done.returncode == 0, done
    assert done.lines == [
        "subclasses True",
        "contains True True True",
        "initialized True",
        "timer is a rel.listener.Timer True",
        "distinct ticks 3",
    ], done
