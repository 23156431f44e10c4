"""TLS for the tests of rel-util, its integration and Redis suites, and rel's
users' suite: a certificate authority and one certificate it signed, made by
the test with the ``openssl`` command, and SSL contexts and socket pairs on
127.0.0.1 built on them.

One module for every suite that needs a certificate: the other suites run in
venvs of their own and put this folder on ``sys.path`` (:func:`here`), after
their own folders. Named so as not to clash with other packages' test helpers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import threading
from typing import Iterator, NamedTuple, Tuple

OPENSSL = shutil.which("openssl")
#: why a test that needs a certificate cannot run here (None: it can)
NO_OPENSSL = None if OPENSSL else "no `openssl` command to make a test certificate (apt-get install openssl)"


#: every registrar rel may run on, the asyncio one included
REGISTRARS = ["epoll", "kqueue", "devpoll", "poll", "select", "selectors", "asyncio"]


@contextlib.contextmanager
def on_registrar(name: str) -> Iterator[None]:
    """rel's facade on a fresh registrar ``name`` (``pytest.skip`` where it is
    not available); the previous one put back after."""
    import pytest
    import rel_core as rel
    import rel_core.rel as facade

    saved = facade.registrar, facade.method
    facade.registrar, facade.method = None, None
    try:
        try:
            rel.initialize([name], ["strict"])
        except ImportError as exc:
            pytest.skip("no %s registrar here: %s" % (name, exc))
        yield
    finally:
        if facade.registrar is not None:
            rel.init()
            facade.registrar.close()
        facade.registrar, facade.method = saved


def here() -> str:
    """This folder, for the other suites' ``sys.path``."""
    return os.path.dirname(os.path.abspath(__file__))


class Certs(NamedTuple):
    """Files in one folder: ``ca`` (the authority's certificate, to trust),
    ``cert`` and ``key`` (a certificate for 127.0.0.1 and localhost, signed by
    the authority, good for a server and for a client)."""

    ca: str
    cert: str
    key: str


def _openssl(*args: str) -> None:
    if OPENSSL is None:
        raise RuntimeError(NO_OPENSSL)
    done = subprocess.run([OPENSSL, *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], done.stderr.strip()[-500:]))


def make_certs(directory: str) -> Certs:
    """Make the authority and its certificate in ``directory`` (a second, one-day
    certificate authority per call; EC keys, quick to make)."""
    ca = os.path.join(directory, "ca.pem")
    ca_key = os.path.join(directory, "ca-key.pem")
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    csr = os.path.join(directory, "cert.csr")
    ext = os.path.join(directory, "cert.ext")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    # What Python 3.13's strict verification (VERIFY_X509_STRICT) asks of an authority.
    _openssl("req", "-x509", *ec, "-days", "1", "-subj", "/CN=rel test CA",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", ca_key, "-out", ca)
    _openssl("req", "-new", *ec, "-subj", "/CN=localhost", "-keyout", key, "-out", csr)
    # ... and of a leaf.
    with open(ext, "w") as fh:
        fh.write("basicConstraints=critical,CA:FALSE\n"
                 "keyUsage=critical,digitalSignature,keyEncipherment\n"
                 "extendedKeyUsage=serverAuth,clientAuth\n"
                 "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                 "subjectKeyIdentifier=hash\n"
                 "authorityKeyIdentifier=keyid\n")
    _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "1",
             "-extfile", ext, "-out", cert)
    return Certs(ca, cert, key)


def server_context(certs: Certs) -> ssl.SSLContext:
    """A server's context presenting ``certs.cert``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.cert, certs.key)
    return ctx


def client_context(certs: Certs) -> ssl.SSLContext:
    """A client's context trusting ``certs.ca`` (hostname checked)."""
    ctx = ssl.create_default_context(cafile=certs.ca)
    return ctx


def tls_pair(certs: Certs) -> Tuple[ssl.SSLSocket, ssl.SSLSocket]:
    """(client side, server side): ``ssl.SSLSocket`` s over a TCP connection on
    127.0.0.1, handshaken, both non-blocking."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    try:
        def accept() -> None:
            conn, _ = listener.accept()
            conn.settimeout(10)
            accepted.append(server_context(certs).wrap_socket(conn, server_side=True))

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        raw = socket.create_connection(listener.getsockname(), timeout=10)
        client = client_context(certs).wrap_socket(raw, server_hostname="localhost")
        t.join(10)
    finally:
        listener.close()
    if not accepted:
        client.close()
        raise RuntimeError("the TLS handshake did not finish")
    server = accepted[0]
    for s in (client, server):
        s.setblocking(False)
    return client, server
