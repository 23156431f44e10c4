"""rel inside an asyncio program: rel's watchers beside an asyncio server, in one loop and thread."""

import asyncio
import socket

import rel_core as rel
from rel_core import aio


async def handle(reader, writer):  # an ordinary asyncio server's handler
    writer.write(b"echo: " + await reader.readline())
    await writer.drain()
    writer.close()


async def main():
    rel.initialize(["asyncio"])  # rel's engine on the running asyncio loop
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    conn = socket.create_connection(("127.0.0.1", port))  # a plain socket, watched by rel
    conn.sendall(b"hello\n")

    def on_readable():
        data = conn.recv(100)
        if data:
            print("rel read", data)
            return True  # keep watching
        print("rel saw the server close")
        conn.close()
        return False  # nothing else is registered: aio.dispatch() ends

    rel.read(conn, on_readable)
    await aio.dispatch()  # until abort() / nothing registered
    server.close()
    await server.wait_closed()
    print("asyncio goes on after rel is done")


asyncio.run(main())
