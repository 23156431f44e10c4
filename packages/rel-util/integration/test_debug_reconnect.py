"""Debug mode names the callback that blocks the loop, in a real program.

websocket-client on ``dispatcher=rel`` reconnects from a rel timer, and that
timer's callback runs a blocking ``connect()`` and handshake inside the loop.
Here the program (``ws_reconnect_app.py``) runs unchanged in a subprocess
with ``REL_DEBUG=1``; its server is killed, and its address then blackholes:
a listening socket on the same port whose accept queue is full, so the
kernel drops every new SYN and ``connect()`` blocks until websocket-client's
timeout. The WARNING must name websocket-client's reconnect callback, its
timer, and the time it blocked.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from typing import List

from conftest import HERE

CONNECT_TIMEOUT = 1.5  # websocket-client's socket timeout in the program
LIMIT = 40.0  # seconds for the whole scenario
RECONNECT = re.compile(r"WebSocketApp\.run_forever\.<locals>\.(initialize_socket|setSock)")
SLOW = re.compile(r"rel: slow callback (?P<name>\S+) \((?P<file>.+):(?P<line>\d+)\), of the "
                  r"(?P<watcher>.+), took (?P<took>[\d.]+) s \(threshold (?P<thr>[\d.]+) s\)$")


def reconnect_warning(line: str):
    """The slow-callback warning about websocket-client's reconnect blocked
    in connect() for its timeout, or None (an attempt refused before the
    blackhole was in place is quick; on a loaded machine it may still pass
    the 100 ms threshold)."""
    m = SLOW.match(line)
    if m and RECONNECT.fullmatch(m["name"]) and float(m["took"]) >= CONNECT_TIMEOUT - 0.05:
        return m
    return None


def blackhole(port: int) -> List[socket.socket]:
    """Listen on 127.0.0.1:port and never accept, with the accept queue full."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + 10
    while True:
        try:
            lsock.bind(("127.0.0.1", port))
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    lsock.listen(0)
    held = [lsock]
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        held.append(filler)
    return held


class Lines:
    """Collect a pipe's lines in a thread; ``wait_for(pred, limit)``."""

    def __init__(self, stream) -> None:
        self.lines: List[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_for(self, pred, limit: float):
        deadline = time.monotonic() + limit
        with self.cond:
            while True:
                for line in self.lines:
                    found = pred(line)
                    if found:
                        return found
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def test_rel_debug_names_websocket_clients_blocking_reconnect(server):
    env = dict(os.environ, REL_DEBUG="1", PYTHONUNBUFFERED="1")
    app = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "ws_reconnect_app.py"), server.url, str(CONNECT_TIMEOUT)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    held: List[socket.socket] = []
    try:
        out, err = Lines(app.stdout), Lines(app.stderr)
        assert out.wait_for(lambda line: line == "opened", 15), (out.lines, err.lines)
        server.kill()
        held = blackhole(server.port)
        # (on a loaded machine another callback may be slow too: look for this one)
        m = err.wait_for(reconnect_warning, LIMIT)
        assert m, "no slow-callback warning for the reconnect; stderr: %r" % (err.lines[-20:],)
    finally:
        app.kill()
        app.wait(10)
        for s in held:
            s.close()
    # websocket-client's reconnect callback (a closure of run_forever, matched above)
    assert m["file"].endswith(os.path.join("websocket", "_app.py"))
    assert m["watcher"] == "timer (delay 1 s)"  # reconnect=1: a rel timer of 1 s
    assert float(m["took"]) < CONNECT_TIMEOUT + 5  # blocked in connect() until its timeout
    assert float(m["thr"]) == 0.1
