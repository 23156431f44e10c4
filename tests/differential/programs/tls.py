"""A read watcher on an ssl.SSLSocket whose peer sent 50 messages and went
quiet: reading 64 bytes a callback, how much arrives before a 2-second timer
ends the loop (messages in one TLS record; in a record each, read in parts;
an EV_READ event). rel 0.4.9.27 leaves bytes decrypted in the socket, where
no poller looks, until the peer speaks again."""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading

import rel
from _difftrace import out

directory = tempfile.mkdtemp()
cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
subprocess.run([shutil.which("openssl") or "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-days", "2", "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
               check=True, capture_output=True, timeout=60)
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(cert, key)
client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
client_ctx.load_verify_locations(cert)

listener = socket.create_server(("127.0.0.1", 0))
accepted = []
t = threading.Thread(target=lambda: accepted.append(
    server_ctx.wrap_socket(listener.accept()[0], server_side=True)))
t.start()
client = client_ctx.wrap_socket(socket.create_connection(listener.getsockname()),
                                server_hostname="localhost")
t.join()
server = accepted[0]
client.setblocking(False)


def run(key, payloads, watch):
    """The server sends ``payloads`` (each one write: one TLS record) and goes
    quiet; ``watch(on_read)`` arms the reader; 2 s at most."""
    expected = b"".join(payloads)
    got = bytearray()

    def on_read():
        try:
            got.extend(client.recv(64))
        except ssl.SSLWantReadError:
            pass
        if len(got) >= len(expected):
            rel.abort()
        return True

    for payload in payloads:
        server.sendall(payload)
    watch(on_read)
    rel.timeout(2, rel.abort)
    rel.dispatch()
    out(key + "_bytes_read", len(got))
    out(key + "_all_in_order", bytes(got) == expected)
    while True:  # what is left, so that the next case starts clean
        try:
            client.recv(1 << 16)
        except ssl.SSLWantReadError:
            break


messages = [b"m%02d:" % i + b"x" * 16 for i in range(50)]
run("one_record", [b"".join(messages)], lambda cb: rel.read(client, cb))
run("record_each", [m * 5 for m in messages], lambda cb: rel.read(client, cb))
run("event_read", [b"".join(messages)],
    lambda cb: rel.event(lambda ev, handle, fired, arg: cb(), None,
                         rel.EV_READ | rel.EV_PERSIST, client).add())
for s in (client, server, listener):
    s.close()
shutil.rmtree(directory)
