"""A real redis-server for the tests (and the bench): a free port on
127.0.0.1, a temporary folder, no persistence; started, waited for, stopped."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import List, Optional, Tuple
from urllib.parse import urlencode


def find_redis_server() -> Optional[str]:
    return os.environ.get("REL_REDIS_SERVER") or shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """``start()``, ``stop()``, ``restart()``; ``url`` stays the same across restarts.

    With ``tls`` (a certificate authority's file, and a certificate and key it
    signed), it also speaks TLS on ``tls_port`` (``tls_url``, which carries
    redis-py's ``ssl_*`` parameters: the client presents that certificate too,
    as Redis asks of its TLS clients by default, ``tls-auth-clients yes``).
    """

    def __init__(self, binary: str, tls: Optional[Tuple[str, str, str]] = None) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="rel-redis-")
        self.proc: Optional[subprocess.Popen] = None
        self.url = "redis://127.0.0.1:%d/0" % (self.port,)
        self.tls = tls
        self.tls_port = free_port() if tls else 0
        if tls:
            ca, cert, key = tls
            self.tls_url = "rediss://127.0.0.1:%d/0?%s" % (self.tls_port, urlencode(
                {"ssl_ca_certs": ca, "ssl_certfile": cert, "ssl_keyfile": key, "ssl_cert_reqs": "required"}))

    def start(self, timeout: float = 10.0) -> None:
        tls: List[str] = []
        if self.tls:
            ca, cert, key = self.tls
            tls = ["--tls-port", str(self.tls_port), "--tls-cert-file", cert, "--tls-key-file", key,
                   "--tls-ca-cert-file", ca]
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
             "--logfile", os.path.join(self.dir, "redis.log"), *tls],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited with %s; log: %s"
                                   % (self.proc.returncode, self.log()))
            if self.ping():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not answer PING within %.0f s" % (timeout,))

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # SIGTERM: redis-server's own clean shutdown
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def restart(self, down: float = 0.0) -> None:
        self.stop()
        if down:
            time.sleep(down)
        self.start()

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "redis.log")) as fh:
                return fh.read()[-2000:]
        except OSError:
            return ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
