"""dez 0.10.10.56's own samples, run with its own ``dez_test`` and ``dbench`` commands, on this rel.

Samples run here (``dez_test SAMPLE -p PORT -d 127.0.0.1``, as dez's README says):
httpd_hello_world, wsecho, websocket_test, echo_server (main, delim_linebreak,
delim_period), new_conn with hello_client as its client, wsgi_test with get_url
as its client, wsc (websocket-client on rel) against wsecho, and ``dbench``
(dez's http_load_test) against httpd_hello_world.

Samples not run, and why:

- django_hello_world: needs Django and a "djangochat" project at a path of its
  author's machine (/home/mario/...).
- http_proxy: proxies to www.orbited.org (outside service); also imports pyevent's
  ``event`` without ``rel.override()`` and calls ``rel`` without importing it.
- op_test, stomp_test: import ``orbited`` (another project) and pyevent's ``event``.
- http_client2: reads globals ``domain`` and ``port`` it never defines (NameError in
  the sample itself).
- http_client: calls ``HTTPClient.get_connection``, which dez 0.10.10.56's
  HTTPClient no longer has (AttributeError under rel 0.4.9.27 too).
- op_callback_server (with op_callback_test): its WSGI POST path dies in dez
  ('WSGIResponse' object has no attribute 'log'), under rel 0.4.9.27 too.
- app_proxy: proxies to port 80 of the given domain (an outside web server).
- websocket_proxy_test: listens on the fixed port 81 of "localhost" (root only,
  and one fixed port shared by every run on the machine).
"""

from __future__ import annotations

import selectors
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import websocket

from users_support import assert_clean_exit, command, free_port, keepalive_get, read_response

HELLO = b"Aloha Des!!"
PROGRAMS = Path(__file__).resolve().parent / "programs"


def dez_sample(program, sample, port, function=None, name=None, stdin=None):
    argv = [command("dez_test"), sample, "-p", str(port), "-d", "127.0.0.1"]
    if function:
        argv += ["-f", function]
    return program(argv, name=name or sample, stdin=stdin)


def stop_server(p):
    """dez's servers install no SIGINT handler, under rel 0.4.9.27 as here: SIGTERM ends them."""
    assert p.proc.poll() is None, "the server died while serving:\n%r" % (p,)
    p.stop(signal.SIGTERM)
    assert_clean_exit(p, -signal.SIGTERM)


@pytest.fixture
def hello(program):
    port = free_port()
    p = dez_sample(program, "httpd_hello_world", port)
    p.wait_port(port)
    yield port
    stop_server(p)
    assert "running httpd_hello_world:main on http://127.0.0.1:%d" % port in p.stdout, repr(p)


def test_hello_world_answers_get(hello):
    with urllib.request.urlopen("http://127.0.0.1:%d/index" % hello, timeout=10) as resp:
        assert resp.status == 200
        assert resp.read() == HELLO


def test_hello_world_http10_closes(hello):
    with socket.create_connection(("127.0.0.1", hello), timeout=10) as sock:
        sock.sendall(b"GET /index HTTP/1.0\r\n\r\n")
        status, _, body = read_response(sock, bytearray())
        assert (status, body) == (200, HELLO)


def test_hello_world_keepalive_1000_sequential(hello):
    got = keepalive_get(hello, "/index", 1000)
    assert len(got) == 1000
    assert set(got) == {(200, HELLO)}


def test_hello_world_50_concurrent_connections(hello):
    connections, per_connection = 50, 20
    opened = threading.Barrier(connections, timeout=30)
    results: dict = {}

    def client(i):
        try:
            with socket.create_connection(("127.0.0.1", hello), timeout=15) as sock:
                opened.wait()  # all 50 are open at once before any request
                buf = bytearray()
                request = b"GET /index HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"
                got = []
                for _ in range(per_connection):
                    sock.sendall(request)
                    status, headers, body = read_response(sock, buf)
                    got.append((status, headers.get("connection"), body))
                results[i] = got
        except Exception as exc:  # reported below, with the client's number
            results[i] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    errors = {i: r for i, r in results.items() if isinstance(r, Exception)}
    assert not errors
    assert sorted(results) == list(range(connections))
    assert all(r == [(200, "keep-alive", HELLO)] * per_connection for r in results.values())


def test_hello_world_404_elsewhere(hello):
    with socket.create_connection(("127.0.0.1", hello), timeout=10) as sock:
        sock.sendall(b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, _ = read_response(sock, bytearray())
        assert status == 404


def test_dbench_against_hello_world(hello, program):
    """dez's own load tester (a client on rel, rel.initialize(['epoll'])) against the sample."""
    p = program([command("dbench"), "127.0.0.1", str(hello), "500", "10", "-p", "/index", "-r", "epoll"],
                name="dbench")
    p.wait(120)
    assert_clean_exit(p, 0)
    out = p.stdout
    assert "loaded: epoll" in out, repr(p)
    assert "500" in out, repr(p)


# -- WebSocket samples, websocket-client clients --------------------------------------------


@pytest.fixture
def wsecho(program):
    port = free_port()
    p = dez_sample(program, "wsecho", port)
    p.wait_port(port)
    yield port, p
    stop_server(p)


def test_wsecho_websocket_client(wsecho):
    port, server = wsecho
    clients = [websocket.create_connection("ws://127.0.0.1:%d/" % port, timeout=10) for _ in range(5)]
    try:
        for round_ in range(10):
            for i, ws in enumerate(clients):
                msg = "echo %d %d " % (i, round_) + "x" * (round_ * 1000)
                ws.send(msg)
                assert ws.recv() == msg
        clients[0].send("small" * 1000)
        assert clients[0].recv() == "small"
        clients[1].send("big")
        assert clients[1].recv() == "big" * 10000
    finally:
        for ws in clients:
            ws.shutdown()  # dez answers no close frame: close() would wait 3 s for one, each
    server.wait_output("conn closed", count=5)
    assert server.stdout.count("new conn") == 5, repr(server)


def test_wsc_sample_on_rel_against_wsecho(wsecho, program):
    """dez's websocket-client sample: run_forever(dispatcher=rel), a rel.timeout sender, ended by SIGINT."""
    port, server = wsecho
    p = dez_sample(program, "wsc", port, stdin=b"n\n")
    p.wait_output("received 5 <class 'str'>")
    p.stop(signal.SIGINT)
    assert_clean_exit(p, 0)
    assert "sending 5 bytes" in p.stdout


def test_websocket_test_sample(program):
    port = free_port()
    p = dez_sample(program, "websocket_test", port)
    p.wait_port(port)
    ws = websocket.create_connection("ws://127.0.0.1:%d/" % port, timeout=10)
    try:
        assert ws.recv() == "you are connected!"
        for i in range(20):
            ws.send("frame %d" % i)
            assert ws.recv() == "ECHO: frame %d" % i
    finally:
        ws.shutdown()
    stop_server(p)
    assert "* starting WebSocket Test" in p.stdout


# -- TCP samples ----------------------------------------------------------------------------


def tcp_exchange(port, payload, until, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        got = b""
        while until not in got:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def test_echo_server_chunked(program):
    port = free_port()
    p = dez_sample(program, "echo_server", port)
    p.wait_port(port)
    assert tcp_exchange(port, b"hello there", b"hello there") == b"hello there"
    stop_server(p)
    assert "received: hello there" in p.stdout


@pytest.mark.parametrize("function, delim", [("delim_linebreak", "\r\n"), ("delim_period", ".")])
def test_echo_server_delimited(program, function, delim):
    port = free_port()
    p = dez_sample(program, "echo_server", port, function=function)
    p.wait_port(port)
    lines = ["one", "two", "three"]
    payload = "".join(line + delim for line in lines).encode()
    want = "".join("S: " + line + delim for line in lines).encode()
    assert tcp_exchange(port, payload, want) == want
    stop_server(p)


def test_hello_client_against_new_conn(program):
    """dez's SocketClient sample (ten pooled connections) against its chunked-reader server."""
    port = free_port()
    server = dez_sample(program, "new_conn", port)
    server.wait_port(port)
    client = dez_sample(program, "hello_client", port)
    client.wait_output("releasing", count=10)
    client.stop(signal.SIGINT)
    assert_clean_exit(client, 0)
    for i in range(1, 11):
        server.wait_output("hello%d" % i)
    stop_server(server)


# -- HTTP application samples and HTTP client samples ---------------------------------------


@pytest.fixture
def wsgi(program):
    port = free_port()
    p = dez_sample(program, "wsgi_test", port)
    p.wait_port(port)
    yield port
    stop_server(p)


def test_wsgi_sample(wsgi):
    for _ in range(3):
        with urllib.request.urlopen("http://127.0.0.1:%d/" % wsgi, timeout=10) as resp:
            assert resp.status == 200
            assert resp.read() == b"Hello world!\n"


def test_get_url_sample_against_wsgi(wsgi, program):
    p = dez_sample(program, "get_url", wsgi)
    p.wait_output("200 OK")
    p.stop(signal.SIGINT)
    assert_clean_exit(p, 0)


# -- TLS: dez's servers with certfile/keyfile, handshakes and I/O driven by rel --------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    from relutil_tls import NO_OPENSSL, make_certs

    if NO_OPENSSL:
        pytest.skip(NO_OPENSSL)
    return make_certs(str(tmp_path_factory.mktemp("tls")))


def dez_tls(program, certs, kind):
    port = free_port()
    p = program([sys.executable, str(PROGRAMS / "dez_tls.py"), kind, str(port), certs.cert, certs.key],
                name="dez_tls_" + kind)
    p.wait_port(port)
    return p, port


def tls_connect(certs, port, timeout=10):
    from relutil_tls import client_context

    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return client_context(certs).wrap_socket(raw, server_hostname="localhost")


def tls_echo(sock, payload, limit):
    """Send ``payload`` while reading its echo (dez echoes as it reads), in
    one thread: an SSLSocket must not be read and written by two threads at
    once. Returns what came back within ``limit`` seconds."""
    sock.setblocking(False)
    got = bytearray()
    view = memoryview(payload)
    deadline = time.monotonic() + limit
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        while len(got) < len(payload) and time.monotonic() < deadline:
            sel.modify(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if view else 0))
            if not sock.pending():  # decrypted bytes the kernel no longer reports
                sel.select(1.0)
            try:
                if view:
                    view = view[sock.send(view[:65536]):]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                pass
            try:
                chunk = sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                continue
            if not chunk:
                break
            got += chunk
    return bytes(got)


def test_dez_tls_socket_daemon_echoes_over_tls(program, certs):
    """A SocketDaemon with certfile/keyfile: three clients at once, each
    handshaken by dez on rel's timers, each echoed byte for byte, a 1 MiB
    payload included (many TLS records each way)."""
    p, port = dez_tls(program, certs, "echo")
    payloads = [b"hello over tls", bytes(range(97, 123)) * 40330, b"x" * 70000]  # 1 MiB and more
    clients = [tls_connect(certs, port) for _ in payloads]
    results = [None] * len(payloads)

    def exchange(i):
        results[i] = tls_echo(clients[i], payloads[i], 30)

    threads = [threading.Thread(target=exchange, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for c in clients:
        c.close()
    assert [r == pl for r, pl in zip(results, payloads)] == [True] * len(payloads), repr(p)
    stop_server(p)
    assert "received: hello over tls\n" in p.stdout, repr(p)


def test_dez_tls_https_daemon_answers_keepalive_gets(program, certs):
    """An HTTPDaemon with certfile/keyfile: an HTTPS client that verifies
    the certificate gets dez's hello world, ten times on one connection."""
    p, port = dez_tls(program, certs, "https")
    request = ("GET /index HTTP/1.1\r\nHost: localhost:%d\r\nConnection: keep-alive\r\n\r\n" % port).encode()
    buf = bytearray()
    with tls_connect(certs, port) as sock:
        for _ in range(10):
            sock.sendall(request)
            status, headers, body = read_response(sock, buf)
            assert (status, body) == (200, HELLO), repr(p)
    stop_server(p)
