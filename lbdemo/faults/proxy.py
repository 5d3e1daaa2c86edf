"""A fault-injecting TCP proxy on 127.0.0.1, in the spirit of toxiproxy.

Put between the balancer and one replica, it forwards bytes both ways untouched until told
otherwise:

* ``latency(seconds)``: every chunk the upstream sends back is held that long before it is
  forwarded (toxiproxy's ``latency`` toxic on the downstream direction);
* ``round_trip(seconds)``: a link between two regions: every chunk, either way, is delivered
  half that long after it arrived, so one request and its answer take the round trip longer.
  Chunks are timed one by one and delivered in order without waiting for each other (a
  pipelined link: latency, no bandwidth limit), so a stream (PostgreSQL's WAL to a standby)
  lags by half the round trip, not by half of it per chunk. It applies to the connections
  opened after it is set;
* ``reset()``: every open connection is reset (RST, "connection reset by peer") and every new
  one is reset as soon as it is accepted (toxiproxy's ``reset_peer`` with timeout 0);
* ``heal()``: back to forwarding untouched; a round trip stays (a distance is not a fault).

It runs on the caller's event loop; :meth:`FaultProxy.close` closes the listener and every
connection it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field

CHUNK = 65536
# Chunks in flight on one direction of a delayed link before its reader waits: the bandwidth-
# delay product it allows (64 KiB chunks: 64 MiB), far above what a demo run puts on a link.
IN_FLIGHT = 1024


def reset_transport(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN: SO_LINGER on, timeout 0, then close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)  # hashed by identity: kept in a set
class _Link:
    """One client connection and its upstream connection."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def reset(self) -> None:
        reset_transport(self.client)
        if self.upstream is not None:
            self.upstream.transport.abort()


class FaultProxy:
    """Forwards 127.0.0.1:<port> to ``upstream_host:upstream_port``, faults on demand."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.latency_s = 0.0
        self.one_way_s = 0.0  # round_trip(): each direction's delay
        self.resetting = False
        self.connections = 0  # accepted, for the record
        self.resets = 0  # connections reset by the proxy
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    # -- the faults --------------------------------------------------------------------------

    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"latency must not be negative, got {seconds}")
        self.latency_s = seconds

    def round_trip(self, seconds: float) -> None:
        """Delay each direction by half of ``seconds`` (the link's round-trip time)."""
        if seconds < 0:
            raise ValueError(f"round trip must not be negative, got {seconds}")
        self.one_way_s = seconds / 2

    def reset(self) -> None:
        self.resetting = True
        for link in list(self._links):
            self.resets += 1
            link.reset()

    def heal(self) -> None:
        self.latency_s = 0.0
        self.resetting = False

    # -- forwarding --------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.resetting:
            self.resets += 1
            reset_transport(writer)
            return
        link = _Link(writer)
        self._links.add(link)
        try:
            try:
                up_reader, up_writer = await asyncio.open_connection(
                    self.upstream_host, self.upstream_port
                )
            except OSError:
                reset_transport(writer)  # as a refused upstream looks through toxiproxy
                return
            link.upstream = up_writer
            link.tasks = [
                asyncio.create_task(self._pump(reader, up_writer, delay=False)),
                asyncio.create_task(self._pump(up_reader, writer, delay=True)),
            ]
            # Either direction ending ends the link: a half-closed HTTP connection is done.
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._links.discard(link)
            for task in link.tasks:
                task.cancel()
            await asyncio.gather(*link.tasks, return_exceptions=True)
            for w in (link.upstream, writer):
                if w is not None:
                    w.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, delay: bool
    ) -> None:
        if self.one_way_s > 0:
            await self._pump_delayed(reader, writer, downstream=delay)
            return
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(CHUNK):
                if delay and self.latency_s > 0:
                    await asyncio.sleep(self.latency_s)
                if writer.is_closing():
                    return
                writer.write(chunk)
                await writer.drain()

    async def _pump_delayed(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, downstream: bool
    ) -> None:
        """One direction of a link with a one-way delay: the reader stamps each chunk with the
        time it is due and reads on; the sender delivers each when due, in order. Everything
        read before the end is delivered before the direction ends (a FIN arrives late too)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(IN_FLIGHT)

        async def send() -> None:
            while (item := await queue.get()) is not None:
                due, chunk = item
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                if writer.is_closing():
                    return
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.create_task(send())
        try:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while chunk := await reader.read(CHUNK):
                    # the downstream latency() fault, if set, adds to the link's own delay
                    extra = self.latency_s if downstream else 0.0
                    await queue.put((loop.time() + self.one_way_s + extra, chunk))
            await queue.put(None)
            with contextlib.suppress(OSError):
                await sender
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for link in list(self._links):
                for task in link.tasks:
                    task.cancel()
                link.client.transport.abort()
                if link.upstream is not None:
                    link.upstream.transport.abort()
            await self._server.wait_closed()
            self._server = None
