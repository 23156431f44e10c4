"""A local wss:// server to try the ten-feeds example on: ``python feed_server.py [PORT] [CA_FILE]``.

Each connection to ``/<name>`` gets three messages, ``<name> tick 1`` to ``3``,
then the server waits for the client to close; ``/echo`` sends back what it
receives. The certificate is made at start for 127.0.0.1 by ``trustme``, a test
certificate authority: the CA's certificate is written to CA_FILE
(``ca.pem`` by default) for clients to trust. Needs ``pip install websockets trustme``.
"""

import asyncio
import ssl
import sys

import trustme
from websockets.asyncio.server import serve

TICKS = 3


async def handler(ws):
    name = ws.request.path.lstrip("/")
    if name == "echo":
        async for message in ws:
            await ws.send(message)
        return
    for i in range(1, TICKS + 1):
        await ws.send("%s tick %d" % (name, i))
    await ws.wait_closed()


async def main(port, ca_file):
    ca = trustme.CA()
    ca.cert_pem.write_to_path(ca_file)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    async with serve(handler, "127.0.0.1", port, ssl=context) as server:
        port = server.sockets[0].getsockname()[1]
        print("serving wss://127.0.0.1:%d (CA certificate: %s)" % (port, ca_file), flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    try:
        asyncio.run(main(port, sys.argv[2] if len(sys.argv) > 2 else "ca.pem"))
    except KeyboardInterrupt:
        pass
