"""A WebSocket echo server on 127.0.0.1 for the integration tests.

Run as ``python echo_server.py PORT``: prints ``READY`` once it listens, then
echoes every message (text or binary, any size) until killed.
"""

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws) -> None:
    async for message in ws:
        await ws.send(message)


async def main(port: int) -> None:
    async with serve(echo, "127.0.0.1", port, max_size=None, compression=None):
        print("READY", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
