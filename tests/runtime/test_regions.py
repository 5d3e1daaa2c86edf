"""The regions' link: a store's DSN as region A reaches it, through one proxy per store."""

from __future__ import annotations

import asyncio
import time

from lbdemo.runtime.regions import RegionLink


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def test_a_far_dsn_goes_through_the_link_and_pays_its_round_trip() -> None:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    link = RegionLink(100)
    try:
        far = await link.far_dsn(f"postgresql://lbdemo@127.0.0.1:{port}/postgres")
        assert far.startswith("postgresql://lbdemo@127.0.0.1:") and far.endswith("/postgres")
        proxy_port = int(far.rsplit(":", 1)[1].split("/")[0])
        assert proxy_port != port
        assert await link.port_for(port) == proxy_port  # one link per store, reused
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
        began = time.monotonic()
        writer.write(b"SELECT 1")
        assert await asyncio.wait_for(reader.readexactly(8), 5) == b"SELECT 1"
        assert time.monotonic() - began >= 0.099
        writer.close()
        assert link.connections() == 1
    finally:
        await link.close()
        server.close()
        await server.wait_closed()
