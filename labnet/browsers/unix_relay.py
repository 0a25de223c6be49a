"""Relays a Unix socket to a TCP port on this namespace's loopback (test-only).

    ip netns exec NS python -m labnet.browsers.unix_relay SOCKET_PATH PORT

Firefox's WebDriver BiDi server listens on 127.0.0.1 of the namespace it runs in; a Unix
socket's path reaches across namespaces, so the test process talks to Firefox through it.
Prints "ready" once listening; runs until killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def main(path: str, port: int) -> None:
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_unix_server(relay, path)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
