"""Every example the site shows runs here, and prints what the site says it prints.

Each ``docs/examples/NAME.py`` (or ``.sh``) with a ``NAME.out`` beside it is run
in a subprocess, bounded in time, on 127.0.0.1 only; its standard output must
equal ``NAME.out`` (which the pages show next to the code) once the example
folder's path and measured times (``0.123 s``) are written neutrally. Examples
that need a server start one: the wss:// feeds their local TLS WebSocket server
(``feed_server.py``), the two-process bus a real ``redis-server``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
ROOT = os.path.dirname(os.path.dirname(EXAMPLES))
BOUND = 60  # seconds for any one example; each takes under a few seconds
sys.path.insert(0, os.path.join(ROOT, "packages", "rel-util", "redis_tests"))
from server import RedisServer, find_redis_server  # noqa: E402  (the Redis tests' own server)


def env() -> dict:
    # the venv's scripts (rtimer) on PATH; examples' lines unbuffered
    return dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
                PYTHONUNBUFFERED="1")


def neutral(text: str) -> str:
    text = text.replace(EXAMPLES + os.sep, "")
    return re.sub(r"\b\d+\.\d{3} s\b", "#.### s", text)


def expected(name: str) -> str:
    with open(os.path.join(EXAMPLES, name + ".out"), encoding="utf-8") as fh:
        return fh.read()


def run(name: str, *args: str) -> str:
    path = os.path.join(EXAMPLES, name)
    cmd = ["bash", path] if name.endswith(".sh") else [sys.executable, path]
    done = subprocess.run(cmd + list(args), cwd=EXAMPLES, env=env(), capture_output=True, text=True,
                          timeout=BOUND)
    assert done.returncode == 0, "%s failed (%s):\n%s" % (name, done.returncode, done.stderr)
    return neutral(done.stdout)


def started(cmd: list, first_line: str) -> tuple[subprocess.Popen, str]:
    """A server process, once it printed its first line (which must contain ``first_line``)."""
    proc = subprocess.Popen(cmd, cwd=EXAMPLES, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    if first_line not in line:
        proc.kill()
        raise AssertionError("%s did not start: %r %s" % (cmd, line, proc.stderr.read()))
    return proc, line


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.mark.parametrize("name", ["first_loop.py", "asyncio_program.py", "asyncio_in_rel.py",
                                  "debug_mode.py", "old_pyevent.py", "rtimer_piped.sh"])
def test_standalone_example(name: str) -> None:
    assert run(name) == expected(name.rsplit(".", 1)[0])


@pytest.fixture(scope="module")
def feed_server():
    """feed_server.py on a free port: (its wss:// URL, the CA file to trust)."""
    with tempfile.TemporaryDirectory() as tmp:
        ca = os.path.join(tmp, "ca.pem")
        server, line = started([sys.executable, "feed_server.py", "0", ca], "serving wss://127.0.0.1:")
        try:
            yield re.search(r"wss://127\.0\.0\.1:\d+", line).group(0), ca
        finally:
            stop(server)


def test_ten_wss_feeds_on_one_loop(feed_server) -> None:
    assert run("wss_feeds.py", *feed_server) == expected("wss_feeds")


def test_sending_from_other_threads(feed_server) -> None:
    assert run("ws_threads.py", *feed_server) == expected("ws_threads")


def test_dez_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert run("dez_hello.py", str(port)) == expected("dez_hello")


@pytest.fixture
def redis_url():
    binary = find_redis_server()
    if not binary:
        pytest.skip("no redis-server (apt-get install redis-server): the two-process bus example")
    server = RedisServer(binary)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_bus_across_two_processes(redis_url: str) -> None:
    worker, line = started([sys.executable, "bus_worker.py", redis_url], "worker ready")
    try:
        assert run("bus_main.py", redis_url) == expected("bus_main")
        out, err = worker.communicate(timeout=BOUND)
        assert worker.returncode == 0, err
        assert line + out == expected("bus_worker")
    finally:
        if worker.poll() is None:
            stop(worker)
