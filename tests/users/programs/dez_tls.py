"""dez's TLS servers as their users start them: ``python dez_tls.py KIND PORT CERTFILE KEYFILE``.

``echo``: a ``SocketDaemon`` with ``certfile``/``keyfile`` and dez's own
``EchoChunked`` (samples/echo_server.py), which prints and echoes what comes.
``https``: an ``HTTPDaemon`` with them, serving dez's hello-world handler
(samples/httpd_hello_world.py) at /index.

dez wraps the listening socket with ``do_handshake_on_connect=False`` and
drives each connection's TLS handshake from rel timers, then reads and writes
the ``ssl.SSLSocket`` through rel's watchers.
"""

import sys

import rel

kind, port, certfile, keyfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if kind == "echo":
    from dez.network import SocketDaemon
    from dez.samples.echo_server import EchoChunked

    SocketDaemon("127.0.0.1", port, EchoChunked, certfile=certfile, keyfile=keyfile).start()
else:
    from dez.http.server import HTTPDaemon
    from dez.samples.httpd_hello_world import test_dispatch

    httpd = HTTPDaemon("127.0.0.1", port, certfile=certfile, keyfile=keyfile)
    httpd.register_prefix("/index", test_dispatch)
    rel.dispatch()
