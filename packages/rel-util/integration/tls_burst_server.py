"""A TLS WebSocket server on 127.0.0.1 for the wss:// integration tests.

Run as ``python tls_burst_server.py PORT CERTFILE KEYFILE MODE``: prints
``READY`` once it listens. At each client message it sends COUNT small text
frames ("frame 0" ... "frame 49"), then nothing more (no pings):

* ``burst``: all of them built here and handed to the TLS transport in one
  write, so one TLS record carries them all (a record holds up to 16 KiB);
* ``one-by-one``: one ``send`` per frame, as a websockets program does.
"""

import asyncio
import ssl
import sys

from websockets.asyncio.server import serve

COUNT = 50


def frame(text: str) -> bytes:
    """A final, unmasked text frame (a server's), payload under 126 bytes."""
    payload = text.encode()
    return bytes([0x81, len(payload)]) + payload


async def main(port: int, certfile: str, keyfile: str, mode: str) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)

    async def handler(ws) -> None:
        async for _ in ws:
            texts = ["frame %d" % i for i in range(COUNT)]
            if mode == "burst":
                ws.transport.write(b"".join(frame(t) for t in texts))
            else:
                for t in texts:
                    await ws.send(t)

    async with serve(handler, "127.0.0.1", port, ssl=ctx, ping_interval=None, compression=None):
        print("READY", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]))
