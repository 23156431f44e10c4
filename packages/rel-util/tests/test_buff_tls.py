"""BuffWriter and ``buffwrite`` on ``ssl.SSLSocket`` s (issue 23): want-read
and want-write, as exceptions or in their errno forms, mean "not yet", never
an error; nothing is lost or reordered, with messages of 1 and 4 MiB both
ways at once, over real TLS connections on 127.0.0.1, on every registrar.

On a non-blocking SSL socket a write that does not fit raises
``SSLWantWriteError`` after OpenSSL has already taken part of the buffer
(CPython does not set SSL_MODE_ENABLE_PARTIAL_WRITE): the retry must offer
the same bytes again (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, which CPython
sets, lets them move; a shorter buffer is OpenSSL's "bad length", other bytes
would be sent silently). The writer offers the same chunk until it is taken.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
from typing import Any, Callable, Iterator, List

import pytest
import rel_core as rel
from relutil_tls import NO_OPENSSL, REGISTRARS, Certs, make_certs, on_registrar, tls_pair
from rel_util.buff import buffwrite, release_buff, writer_of

pytestmark = pytest.mark.skipif(NO_OPENSSL is not None, reason=str(NO_OPENSSL))

MIB = 1 << 20


@pytest.fixture(scope="module")
def certs(tmp_path_factory: Any) -> Certs:
    return make_certs(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(params=REGISTRARS)
def method(request: Any) -> Iterator[str]:
    with on_registrar(request.param):
        yield request.param


@pytest.fixture
def pair(certs: Certs) -> Iterator[List[ssl.SSLSocket]]:
    client, server = tls_pair(certs)
    yield [client, server]
    for s in (client, server):
        release_buff(s)
        s.close()


class TlsDrain:
    """A read watcher that collects what ``sock`` receives, reading until
    OpenSSL has nothing left (so that it needs no help from the engine with
    decrypted bytes left pending), and calls ``done()`` once ``expect``
    bytes have come."""

    def __init__(self, sock: ssl.SSLSocket, expect: int, done: Callable[[], None]) -> None:
        self.sock = sock
        self.expect = expect
        self.done = done
        self.data = bytearray()
        rel.read(sock, self.on_read)

    def on_read(self) -> bool:
        while True:
            try:
                chunk = self.sock.recv(1 << 20)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return True
            if not chunk:
                return False
            self.data += chunk
            if len(self.data) >= self.expect:
                self.done()
                return False


def messages(seed: int) -> List[bytes]:
    rnd = __import__("random").Random(seed)
    out = []
    for size in (10, MIB, 3, 4 * MIB, 700, MIB + 1, 1):
        out.append(bytes(rnd.getrandbits(8) for _ in range(min(size, 64))) * (size // 64)
                   + os.urandom(size % 64))
    return out


def exchange(run: Callable[..., None], client: ssl.SSLSocket, server: ssl.SSLSocket,
             sender: Any = None) -> None:
    """Both sides buffwrite their messages at once, half before the loop runs
    (the watcher's path) and half from inside it (the fast path where they fit);
    each side gets the other's, whole and in order."""
    ours, theirs = messages(1), messages(2)
    errors: List[str] = []
    finished: List[str] = []

    def failed(msg: str) -> None:
        errors.append(msg)
        rel.abort()

    def done() -> None:
        finished.append("x")
        if len(finished) == 2:
            rel.abort()

    got_by_server = TlsDrain(server, sum(map(len, ours)), done)
    got_by_client = TlsDrain(client, sum(map(len, theirs)), done)

    def send_rest() -> None:
        for m in ours[3:]:
            buffwrite(client, m, sender, failed)
        for m in theirs[3:]:
            buffwrite(server, m, sender, failed)

    for m in ours[:3]:
        buffwrite(client, m, sender, failed)
    for m in theirs[:3]:
        buffwrite(server, m, sender, failed)
    rel.timeout(0.01, send_rest)
    run(60)
    assert errors == []
    assert bytes(got_by_server.data) == b"".join(ours)
    assert bytes(got_by_client.data) == b"".join(theirs)
    for s in (client, server):
        assert writer_of(s).queued == 0 and writer_of(s).error is None


def test_big_messages_both_ways_with_the_default_sender(method, pair, run):
    """sock.send raising SSLWantWriteError, and taking a 256 KiB chunk whole
    or not at all: everything arrives, in order."""
    exchange(run, *pair)


def test_the_retry_after_want_write_offers_the_same_bytes(method, pair, run):
    """With small kernel buffers, SSL writes stop half way: each retry offers
    at least the bytes refused (OpenSSL's rule), and the data arrives intact."""
    refused = {}  # {sock: the chunk that raised SSLWantWriteError}
    retries: List[bool] = []
    for s in pair:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)

    def send(sock: ssl.SSLSocket, chunk: memoryview) -> int:
        before = refused.pop(sock, None)
        if before is not None:
            retries.append(bytes(chunk[:len(before)]) == bytes(before))
        try:
            return sock.send(chunk)
        except ssl.SSLWantWriteError:
            refused[sock] = chunk
            raise

    exchange(run, *pair, sender=send)
    assert retries, "no write was ever refused: the retry rule went untested"
    assert all(retries), "a retry offered other bytes than the refused write"


WANTS = {
    "SSLWantWriteError": lambda: ssl.SSLWantWriteError(ssl.SSL_ERROR_WANT_WRITE, "want write"),
    "SSLWantReadError": lambda: ssl.SSLWantReadError(ssl.SSL_ERROR_WANT_READ, "want read"),
    # what a wrapper (websocket-client's error handling, pyOpenSSL-style code) may raise:
    # the base class, with OpenSSL's code as its errno
    "SSLError-want-write": lambda: ssl.SSLError(ssl.SSL_ERROR_WANT_WRITE, "The operation did not complete"),
    "SSLError-want-read": lambda: ssl.SSLError(ssl.SSL_ERROR_WANT_READ, "The operation did not complete"),
    "OSError-EAGAIN": lambda: OSError(errno.EAGAIN, os.strerror(errno.EAGAIN)),
    "socket.error-EWOULDBLOCK": lambda: __import__("socket").error(errno.EWOULDBLOCK, "would block"),
}


@pytest.mark.parametrize("want", sorted(WANTS))
def test_want_read_and_want_write_in_every_form_mean_not_yet(pair, run, want):
    """A sender raising one of them now and then, before sending: nothing is
    reported, nothing lost, on the watcher's path and the fast path."""
    calls: List[int] = []

    def send(sock: ssl.SSLSocket, chunk: memoryview) -> int:
        calls.append(chunk.nbytes)
        if len(calls) % 3 == 1:
            raise WANTS[want]()
        return sock.send(chunk)

    exchange(run, *pair, sender=send)
    assert len(calls) >= 6


def test_an_ssl_error_that_is_not_a_want_is_reported_once(pair, run):
    client, server = pair
    errors: List[str] = []

    def send(sock: ssl.SSLSocket, chunk: memoryview) -> int:
        raise ssl.SSLError(ssl.SSL_ERROR_SSL, "[SSL: BAD_LENGTH] bad length")

    buffwrite(client, b"x" * 100, send, errors.append)
    buffwrite(client, b"y" * 100, send, errors.append)
    rel.timeout(0.5, rel.abort)
    run(10)
    assert len(errors) == 1 and "bad length" in errors[0]
    assert writer_of(client).queued == 0
