"""The bus over ``rediss://``: TLS to a real redis-server (``--tls-port``,
its certificate and the client's signed by a certificate authority the
session made), across processes. redis-py's ``ssl_*`` URL parameters
(``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_cert_reqs``...)
say how; the handshake is blocking, in ``connect()``, then every read and
write goes through rel's watchers on the non-blocking ``ssl.SSLSocket``."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from typing import Any, Callable, Iterator, List
from urllib.parse import urlencode

import pytest
import rel_core as rel
from conftest import Worker
from rel_util import bus
from test_redis_bus import emit_through_a_restart, link, run_until

redis = pytest.importorskip("redis")

MIB = 1 << 20


@pytest.fixture
def spawn_tls(tls_server: Any, ns: str) -> Iterator[Callable[..., Worker]]:
    made: List[Worker] = []

    def _spawn(mode: str, *args: object) -> Worker:
        w = Worker(mode, tls_server.tls_url, ns, *args)
        made.append(w)
        return w

    yield _spawn
    for w in made:
        w.kill()
        for f in (w.proc.stdout, w.proc.stderr):
            if f:
                f.close()


def no_outage(caplog: Any) -> None:
    """The link never went down: a want-read or want-write is not a lost connection."""
    lost = [r.getMessage() for r in caplog.records if "lost Redis" in r.getMessage()]
    assert lost == []


def test_three_processes_over_tls_with_megabyte_messages(spawn_tls, tls_server, ns, caplog):
    """Big messages (past what the kernel takes at once, so SSL writes are
    refused half way and retried, and records arrive in parts) and a burst
    of small ones, both ways, with no outage."""
    big = ["%d" % i * (MIB // 2) for i in range(3)]  # 0.5 to 1 MiB each
    collector = spawn_tls("collect", 600, "x,y")
    collector.expect("ready")
    got: List[Any] = []
    bus.listen("x", lambda v: got.append(("x", v)))
    bus.listen("y", lambda v: got.append(("y", v)))
    bus.listen("big", got.append)
    bus.connect(tls_server.tls_url, namespace=ns)
    for pipe in (link().sub, link().cmd):
        assert isinstance(pipe.sock, ssl.SSLSocket)
        # Small kernel buffers: big writes stop half way, records arrive in parts.
        pipe.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
        pipe.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    publisher = spawn_tls("publish", 600, "x,y")
    publisher.expect("ready")
    publisher.expect("done")
    run_until(lambda: len(got) == 600)
    assert got == [("xy"[i % 2], i) for i in range(600)]
    assert collector.expect("done")["got"] == {"x": list(range(0, 600, 2)), "y": list(range(1, 600, 2))}

    echo = spawn_tls("collect", len(big), "big")
    echo.expect("ready")
    del got[:]
    sent: List[bool] = []

    def burst() -> None:  # from inside the loop, as a program would
        for text in big:
            bus.emit("big", text)
        sent.append(True)

    rel.timeout(0, burst)
    run_until(lambda: sent and not link().inflight and not link().queue and len(got) == len(big), 60)
    assert got == big  # our own listener, at once
    assert echo.expect("done", 60)["got"] == {"big": big}
    no_outage(caplog)


class Trickle:
    """A TCP relay to the TLS port that passes Redis's bytes on in pieces of
    ``piece`` bytes, a moment apart: TLS records reach the bus in parts, so
    reads find part of a record (want-read) again and again."""

    def __init__(self, port: int, piece: int = 700) -> None:
        self.target = port
        self.piece = piece
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(client, upstream, 1 << 16), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, self.piece), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, piece: int) -> None:
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                for i in range(0, len(data), piece):
                    dst.sendall(data[i:i + piece])
                    if piece < len(data):
                        time.sleep(0.0002)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.stopped = True
        self.listener.close()


def test_tls_records_arriving_in_parts_lose_nothing(spawn_tls, tls_server, ns, caplog):
    """Redis's TLS records reach this process a few hundred bytes at a time:
    every message of a 64 KiB-per-message stream arrives, with no outage."""
    relay = Trickle(tls_server.tls_port)
    try:
        got: List[Any] = []
        bus.listen("t", got.append)
        bus.connect(tls_server.tls_url.replace(":%d/" % tls_server.tls_port, ":%d/" % relay.port),
                    namespace=ns)
        publisher = spawn_tls("publish", 200, "t")
        publisher.expect("ready")
        publisher.expect("done", 60)
        run_until(lambda: len(got) == 200, 60)
        assert got == list(range(200))
        texts = ["%03d" % i * 20000 for i in range(5)]  # 60 KB each: four records and a bit
        spawn_tls("emit_texts", "t", len(texts), 20000).expect("done", 60)
        run_until(lambda: len(got) == 205, 60)
        assert got[200:] == texts
    finally:
        bus.disconnect()
        relay.close()
    no_outage(caplog)


def test_ask_and_answer_over_tls(spawn_tls, tls_server, ns, caplog):
    spawn_tls("answer", "double").expect("ready")
    bus.connect(tls_server.tls_url, namespace=ns, ask_timeout=5)
    assert bus.ask("double", 21) == 42
    answers: List[Any] = []
    rel.timeout(0, lambda: bus.ask_async("double", lambda a, e: answers.append((a, e)), 4))
    run_until(lambda: bool(answers))
    assert answers == [(8, None)]
    no_outage(caplog)


def url_with(tls_server: Any, **params: str) -> str:
    ca, cert, key = tls_server.tls
    query = {"ssl_ca_certs": ca, "ssl_certfile": cert, "ssl_keyfile": key}
    query.update(params)
    return "rediss://127.0.0.1:%d/0?%s" % (tls_server.tls_port, urlencode(
        {k: v for k, v in query.items() if v}))


def test_tls_failures_are_clear_errors_at_connect(tls_server, ns, tmp_path):
    from relutil_tls import make_certs

    stranger = make_certs(str(tmp_path))  # another authority: the server's certificate is not its
    with pytest.raises(ConnectionError, match="cannot connect to Redis.*(?i:certificate)"):
        bus.connect(url_with(tls_server, ssl_ca_certs=stranger.ca), namespace=ns, connect_timeout=5)
    assert not bus.connected()
    # Redis asks its TLS clients for a certificate (tls-auth-clients yes): none given
    with pytest.raises(ConnectionError, match="cannot connect to Redis"):
        bus.connect(url_with(tls_server, ssl_certfile="", ssl_keyfile=""), namespace=ns, connect_timeout=5)
    assert not bus.connected()
    # plain Redis on the TLS port
    with pytest.raises(ConnectionError, match="cannot connect to Redis"):
        bus.connect("redis://127.0.0.1:%d/0" % (tls_server.tls_port,), namespace=ns, connect_timeout=3)
    assert not bus.connected()
    with pytest.raises(ValueError, match="bad Redis URL.*ssl_ca_cert\\b"):
        bus.connect(url_with(tls_server, ssl_ca_cert="typo.pem"), namespace=ns)
    assert not bus.connected()
    bus.connect(url_with(tls_server, ssl_cert_reqs="none", ssl_ca_certs=stranger.ca), namespace=ns)
    assert bus.connected()  # not verified, as asked


def test_redis_restart_mid_stream_over_tls_loses_nothing(spawn_tls, tls_server, ns, caplog):
    """The outage and the reconnect (a new TLS handshake, blocking, in the
    reconnect thread) on both sides: every emit arrives once, in order."""
    logged = emit_through_a_restart(spawn_tls, tls_server.tls_url, tls_server.restart, ns, caplog, 300)
    assert len([m for m in logged if "is back" in m]) == 1, caplog.text
    assert isinstance(link().sub.sock, ssl.SSLSocket)
