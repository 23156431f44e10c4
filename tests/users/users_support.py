"""Helpers of the users' tests: rel's users' own programs, unchanged, run as their users run them.

The ``users`` nox session installs dez 0.10.10.56 and cantools (``ct``) with
``--no-deps`` on top of this project's packages, so that they run on this
project's ``rel`` and never on the registry's. Each test starts the users'
own command (``dez_test``, ``dbench``, ``ctutil``, ``ctpubsub``) as a
subprocess on 127.0.0.1, talks to it with a real client, stops it and checks
its output and exit status. Everything is bounded in time and count.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import pytest

BIN = os.path.dirname(sys.executable)
START_TIMEOUT = 60.0  # seconds for a server to listen (a busy 2-core machine, a cold import)
STOP_TIMEOUT = 20.0


def command(name: str) -> str:
    """The console script ``name`` of this interpreter's environment (dez_test, ctutil, ...)."""
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        pytest.fail("%s is not installed beside %s: run these tests through `nox -s users`"
                    % (name, sys.executable))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Program:
    """A user's program running as a subprocess, stdout and stderr going to files."""

    def __init__(self, argv: List[str], cwd: Path, name: str, stdin: Optional[bytes] = None) -> None:
        self.argv = argv
        self.cwd = cwd
        self.out_path = cwd / (name + ".out")
        self.err_path = cwd / (name + ".err")
        home = cwd / "home"  # cantools reads ~/ct.cfg: an empty home of its own
        home.mkdir(exist_ok=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1", HOME=str(home))
        env.pop("PYTHONPATH", None)
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(argv, cwd=str(cwd), env=env, stdout=out, stderr=err,
                                         stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        if stdin is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(stdin)
            self.proc.stdin.close()
        self.returncode: Optional[int] = None

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def __repr__(self) -> str:
        return "%s: exit %s\n--- stdout\n%s\n--- stderr\n%s" % (
            " ".join(self.argv), self.returncode, self.stdout[-4000:], self.stderr[-4000:])

    def wait_port(self, port: int, timeout: float = START_TIMEOUT) -> None:
        """Return once something accepts on 127.0.0.1:port; fail if the program died or took too long."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                pytest.fail("exited before listening on %d:\n%r" % (port, self))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.kill()
        pytest.fail("not listening on %d after %.0f s:\n%r" % (port, timeout, self))

    def wait_output(self, text: str, timeout: float = START_TIMEOUT, count: int = 1) -> None:
        """Return once ``text`` is ``count`` times in stdout; fail if the program died or took too long."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stdout.count(text) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        pytest.fail("%r not printed %d times within %.0f s:\n%r" % (text, count, timeout, self))

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """Wait for the program to end by itself; its exit status."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("still running after %.0f s:\n%r" % (timeout, self))
        return self.returncode

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Send ``sig`` and wait for the exit; its exit status (negative: killed by that signal)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.returncode = self.proc.wait()


def assert_clean_exit(p: Program, expected: int) -> None:
    """The program ended with ``expected`` and printed no traceback."""
    assert p.returncode == expected, repr(p)
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout, repr(p)


class HTTPResponseError(AssertionError):
    pass


def read_response(sock: socket.socket, buf: bytearray) -> tuple[int, dict, bytes]:
    """Read one HTTP/1.x response with a Content-Length off ``sock`` (``buf`` keeps what follows it)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise HTTPResponseError("connection closed before the headers' end: %r" % bytes(buf))
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" not in headers:
        raise HTTPResponseError("no Content-Length: %r" % head)
    size = int(headers["content-length"])
    while len(rest) < size:
        chunk = sock.recv(65536)
        if not chunk:
            raise HTTPResponseError("connection closed within the body")
        rest += chunk
    buf[:] = rest[size:]
    return status, headers, rest[:size]


def keepalive_get(port: int, path: str, count: int, timeout: float = 10.0) -> list[tuple[int, bytes]]:
    """``count`` GETs of ``path``, one after the other, all on one HTTP/1.1 connection.

    dez keeps a connection open only when asked (``Connection: keep-alive``), and
    says so in its response: each pair is (status, body) of a response that did.
    """
    request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: keep-alive\r\n\r\n"
               % (path, port)).encode()
    got = []
    buf = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        for _ in range(count):
            sock.sendall(request)
            status, headers, body = read_response(sock, buf)
            if headers.get("connection") != "keep-alive":
                raise HTTPResponseError("response without Connection: keep-alive: %r" % (headers,))
            got.append((status, body))
    return got
