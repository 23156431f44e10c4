"""Helpers to drive the real ``rtimer`` in subprocesses.

Every run gets a temporary HOME (so ``~/.rtimer`` is controlled), a temporary
working directory, and a PATH holding only an empty ``bin`` folder unless a test
puts a fake player there, so no real player ever sounds during the tests.
Every subprocess is bounded by a timeout.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

TIMEOUT = 20  # seconds: the bound on any one rtimer run
WINDOWS = sys.platform == "win32"
#: for the tests that need POSIX: a pseudo-terminal, a /bin/sh fake player, SIGINT
#: sent to a child (Windows has CTRL_BREAK_EVENT instead: see test_windows.py)
posix_only = pytest.mark.skipif(WINDOWS, reason="pty, /bin/sh players, kill(SIGINT): POSIX only")
MODULE = [sys.executable, "-m", "rtimer"]


def console_script() -> Optional[str]:
    """The installed ``rtimer`` script next to this interpreter, if any."""
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        path = os.path.join(folder, "rtimer")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # wall-clock duration of the run


class Sandbox:
    """A temporary HOME, cwd and PATH for rtimer runs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.cwd = root / "cwd"
        self.bin = root / "bin"
        for folder in (self.home, self.cwd, self.bin):
            folder.mkdir()
        # ~ is HOME on POSIX and USERPROFILE on Windows.
        self.env: Dict[str, str] = {"HOME": str(self.home), "USERPROFILE": str(self.home),
                                    "PATH": str(self.bin)}
        for name in ("SYSTEMROOT", "PYTHONPATH"):
            if name in os.environ:
                self.env[name] = os.environ[name]

    def media(self, *names: str) -> Path:
        """Create ``~/.rtimer`` holding empty files named ``names``."""
        folder = self.home / ".rtimer"
        folder.mkdir(exist_ok=True)
        for name in names:
            (folder / name).write_bytes(b"RIFF")
        return folder

    def fake_player(self, name: str = "mpv", then: str = "") -> Path:
        """A shell script named ``name`` in our bin that appends its argv to
        ``record`` (NUL-separated, one ``END`` per run), then runs ``then``."""
        record = self.root / "record"
        script = self.bin / name
        script.write_text("#!/bin/sh\nprintf '%%s\\0' \"$0\" \"$@\" END >> '%s'\n%s\n" % (record, then))
        script.chmod(0o755)
        return record

    def run(self, *args: str, command: Optional[List[str]] = None, timeout: float = TIMEOUT) -> Result:
        """Run rtimer to its end with stdout and stderr piped."""
        start = time.monotonic()
        done = subprocess.run([*(command or MODULE), *args], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        return Result(done.returncode, done.stdout, done.stderr, time.monotonic() - start)

    def start(self, *args: str, **popen: Any) -> subprocess.Popen:
        """Start rtimer with stdout and stderr piped (the caller bounds it)."""
        return subprocess.Popen([*MODULE, *args], cwd=self.cwd, env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)

    def run_in_pty(self, *args: str, interrupt_after: Optional[str] = None,
                   timeout: float = TIMEOUT) -> Result:
        """Run rtimer with stdin/stdout/stderr on a pseudo-terminal; with
        ``interrupt_after``, send SIGINT once that text has been printed."""
        import pty  # POSIX only

        master, slave = pty.openpty()
        start = time.monotonic()
        proc = subprocess.Popen([*MODULE, *args], cwd=self.cwd, env=dict(self.env, TERM="xterm"),
                                stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        output = b""
        try:
            while time.monotonic() - start < timeout:
                if interrupt_after and interrupt_after.encode() in output:
                    proc.send_signal(signal.SIGINT)
                    interrupt_after = None
                ready, _, _ = select.select([master], [], [], 0.1)
                if not ready:
                    continue
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every end of the slave side is closed
                    break
                if not chunk:
                    break
                output += chunk
            returncode = proc.wait(timeout=max(0.1, timeout - (time.monotonic() - start)))
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return Result(returncode, output.decode(), "", time.monotonic() - start)


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)
