"""Bytes to a server exactly as given, for requests a client library would refuse to send."""

from __future__ import annotations

import asyncio


async def raw_exchange(url: str, request: bytes, timeout_s: float = 5.0) -> bytes:
    """Send bytes as they are (no client library tidying them up); everything until EOF."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout_s)
    finally:
        writer.close()
