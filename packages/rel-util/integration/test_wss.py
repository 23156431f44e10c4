"""websocket-client over ``wss://`` with ``dispatcher=rel`` (issue 23).

websocket-client reads one frame per read callback. When the server puts 50
small frames in one TLS record, the first read decrypts the whole record:
one frame is taken, the other 49 wait, decrypted, inside the
``ssl.SSLSocket`` (``pending() > 0``), and the kernel holds nothing more, so
the poller never reports the socket again. They must all arrive anyway, with
no further traffic from the server, on every registrar (the engine runs a
read watcher again while its SSL socket has bytes pending).
"""

from __future__ import annotations

import time
from typing import Any, Iterator, List

import pytest
import rel
import websocket
from conftest import EchoServer, close_app
from relutil_tls import NO_OPENSSL, REGISTRARS, Certs, make_certs, on_registrar

pytestmark = pytest.mark.skipif(NO_OPENSSL is not None, reason=str(NO_OPENSSL))

COUNT = 50  # tls_burst_server.py's
BOUND = 10.0  # seconds: loose; all 50 take about a millisecond when nothing is stuck


@pytest.fixture(scope="module")
def certs(tmp_path_factory: Any) -> Certs:
    return make_certs(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(params=REGISTRARS)
def method(request: Any) -> Iterator[str]:
    with on_registrar(request.param):
        yield request.param


@pytest.mark.parametrize("mode", ["burst", "one-by-one"])
def test_every_frame_of_a_tls_record_arrives_without_more_traffic(method, certs, mode):
    server = EchoServer("tls_burst_server.py", [certs.cert, certs.key, mode], scheme="wss")
    server.start()
    received: List[str] = []
    errors: List[Any] = []

    def on_message(app: websocket.WebSocketApp, message: str) -> None:
        received.append(message)
        if len(received) == COUNT:
            rel.abort()

    app = websocket.WebSocketApp(server.url, on_open=lambda app: app.send("go"), on_message=on_message,
                                 on_error=lambda app, e: errors.append(e))
    try:
        app.run_forever(dispatcher=rel, sslopt={"ca_certs": certs.ca})
        guard = rel.timeout(BOUND, rel.abort)
        start = time.monotonic()
        rel.dispatch()
        guard.delete()
        took = time.monotonic() - start
    finally:
        close_app(app)
        server.kill()
    assert errors == []
    assert received == ["frame %d" % i for i in range(COUNT)], (
        "%d of %d frames arrived in %.1f s on %s" % (len(received), COUNT, took, method))
