"""TLS for rel-core's tests: a self-signed certificate made by the test (with
the ``openssl`` command), and connected pairs of ``ssl.SSLSocket`` over
loopback TCP, handshaken and left non-blocking."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import threading
from typing import Tuple

import pytest

OPENSSL = shutil.which("openssl")
#: for the tests that need a certificate: made by the openssl command
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="no openssl command to make a certificate")


def make_certificate(directory: str) -> Tuple[str, str]:
    """A self-signed certificate for 127.0.0.1/localhost in ``directory``:
    (certfile, keyfile)."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        [OPENSSL or "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True, timeout=60)
    return cert, key


def contexts(cert: str, key: str) -> Tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting ``cert``)."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cert)
    return server, client


def tls_pair(server_ctx: ssl.SSLContext,
             client_ctx: ssl.SSLContext) -> Tuple[ssl.SSLSocket, ssl.SSLSocket]:
    """(server side, client side): handshaken over 127.0.0.1, both non-blocking."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        accepted = []

        def accept() -> None:
            conn, _ = listener.accept()
            conn.settimeout(10)
            accepted.append(server_ctx.wrap_socket(conn, server_side=True))

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        raw = socket.create_connection(listener.getsockname(), timeout=10)
        client = client_ctx.wrap_socket(raw, server_hostname="localhost")
        t.join(10)
    finally:
        listener.close()
    server = accepted[0]
    for s in (server, client):
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server, client
