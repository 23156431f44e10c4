"""The compat suite's fixture: run an old program as a real process.

Each program under ``programs/`` is written as its users wrote it (pyevent via
``override()``, cantools, dez): it runs unchanged in its own interpreter, bounded
in time, and prints what happened; the test reads that.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from compat_support import PROGRAMS

TIMEOUT = 60  # seconds; each program needs well under one


class Finished:
    """What a program did: its exit status, stdout lines and stderr."""

    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.lines = proc.stdout.splitlines()

    def __repr__(self) -> str:
        return "exit %s\n--- stdout\n%s--- stderr\n%s" % (self.returncode, self.stdout, self.stderr)


@pytest.fixture
def run_program(tmp_path):
    """run_program("name", *args) runs programs/name.py in a fresh interpreter."""

    def run(name: str, *args: str) -> Finished:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", HOME=str(tmp_path))
        env.pop("PYTHONPATH", None)
        try:
            proc = subprocess.run([sys.executable, str(PROGRAMS / (name + ".py")), *args],
                                  capture_output=True, stdin=subprocess.DEVNULL, text=True, timeout=TIMEOUT,
                                  cwd=str(tmp_path), env=env)
        except subprocess.TimeoutExpired as exc:
            pytest.fail("%s.py still running after %ds:\n%s" % (name, TIMEOUT, exc.stdout or ""))
        return Finished(proc)

    return run
