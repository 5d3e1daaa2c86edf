"""A fault-injecting TCP proxy on 127.0.0.1, in the spirit of toxiproxy.

Put between the balancer and one replica, it forwards bytes both ways untouched until told
otherwise:

* ``latency(seconds)``: every chunk the upstream sends back is held that long before it is
  forwarded (toxiproxy's ``latency`` toxic on the downstream direction);
* ``reset()``: every open connection is reset (RST, "connection reset by peer") and every new
  one is reset as soon as it is accepted (toxiproxy's ``reset_peer`` with timeout 0);
* ``heal()``: back to forwarding untouched.

With ``steady=True`` the latency is a fixed one-way delay (a long link) rather than a stall: each
chunk leaves ``latency`` after it arrived, however many follow it, so a stream (a replication
link) runs that far behind but at full speed. Without it each chunk waits in turn.

It runs on the caller's event loop; :meth:`FaultProxy.close` closes the listener and every
connection it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from dataclasses import dataclass, field

CHUNK = 65536


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

    def __init__(self, upstream_host: str, upstream_port: int, *, steady: bool = False) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.steady = steady  # latency as a fixed delay per byte, not a wait per chunk
        self.latency_s = 0.0
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
                asyncio.create_task(
                    self._pump_steady(up_reader, writer)
                    if self.steady
                    else self._pump(up_reader, writer, delay=True)
                ),
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
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(CHUNK):
                if delay and self.latency_s > 0:
                    await asyncio.sleep(self.latency_s)
                if writer.is_closing():
                    return
                writer.write(chunk)
                await writer.drain()

    async def _pump_steady(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Each chunk stamped on arrival and written ``latency_s`` after that stamp: reading
        never waits for writing, so the delay does not add up along a stream."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                due, chunk = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not chunk or writer.is_closing():
                    return
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.create_task(send())
        try:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while chunk := await reader.read(CHUNK):
                    queue.put_nowait((time.monotonic() + self.latency_s, chunk))
            queue.put_nowait((time.monotonic() + self.latency_s, b""))  # end, after the rest
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
