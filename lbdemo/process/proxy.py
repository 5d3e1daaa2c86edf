"""A fault-injecting TCP proxy on 127.0.0.1, in the spirit of toxiproxy.

Put between the balancer and one replica, it forwards bytes both ways untouched until told
otherwise:

* ``latency(seconds)``: every chunk the upstream sends back is held that long before it is
  forwarded (toxiproxy's ``latency`` toxic on the downstream direction);
  ``latency(seconds, direction="upstream")`` holds what the client sends instead (etcd's peer
  links: a member receives the leader's messages on connections it dialed, but the leader's
  pipeline requests on connections the leader dialed, so both directions are needed);
* ``round_trip(seconds)``: a link between two regions: every chunk, either way, is delivered
  half that long after it arrived, so one request and its answer take the round trip longer
  (a delay line, as ``steady`` below: latency, no bandwidth limit), so a stream (PostgreSQL's
  WAL to a standby) lags by half the round trip, not by half of it per chunk; a ``latency()``
  fault adds to it. It applies to the connections opened after it is set;
* ``reset()``: every open connection is reset (RST, "connection reset by peer") and every new
  one is reset as soon as it is accepted (toxiproxy's ``reset_peer`` with timeout 0);
* ``heal()``: back to forwarding untouched; a round trip stays (a distance is not a fault).

With ``steady=True`` the latency is a fixed one-way delay (a long link) rather than a stall:
each direction is a delay line, a chunk stamped when it arrives and forwarded once it is
``seconds`` old, however many follow it, so a stream (a replication link, raft's heartbeats and
appends) runs that far behind but at full speed; a bounded queue between reader and writer
keeps TCP's back-pressure. Without it each chunk waits in turn (a stall, as before).

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
# Chunks held per direction before the reader waits (TCP's back-pressure): the bandwidth-delay
# product a delayed link allows (64 KiB chunks: 64 MiB), far above what a demo run puts on one.
QUEUE_CHUNKS = 1024
DIRECTIONS = ("downstream", "upstream")


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
        self.latency_s = 0.0  # downstream: what the upstream sends back
        self.upstream_latency_s = 0.0  # upstream: what the client sends
        self.one_way_s = 0.0  # round_trip(): each direction's own delay, beside the faults
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

    async def start(self, port: int = 0) -> FaultProxy:
        """Listen on ``port`` (0: any free one; a fixed one for a link whose address is
        recorded elsewhere, as an etcd member's advertised peer URL is in its data)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        return self

    # -- the faults --------------------------------------------------------------------------

    def latency(self, seconds: float, *, direction: str = "downstream") -> None:
        if seconds < 0:
            raise ValueError(f"latency must not be negative, got {seconds}")
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction}")
        if direction == "downstream":
            self.latency_s = seconds
        else:
            self.upstream_latency_s = seconds

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
        self.latency_s = 0.0  # downstream: what the upstream sends back
        self.upstream_latency_s = 0.0  # upstream: what the client sends
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
                asyncio.create_task(self._pump(reader, up_writer, "upstream")),
                asyncio.create_task(self._pump(up_reader, writer, "downstream")),
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

    def _delay(self, direction: str) -> float:
        fault = self.latency_s if direction == "downstream" else self.upstream_latency_s
        return self.one_way_s + fault

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        # a link with a distance is a delay line whatever the faults do
        if not self.steady and self.one_way_s == 0:
            await self._pump_in_turn(reader, writer, direction)
            return
        # A reader filling a bounded queue, a writer emptying it on time. It ends when the
        # reader's end is forwarded, or at once when the writer's side is gone.
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(QUEUE_CHUNKS)
        reading = asyncio.create_task(_read_into(reader, queue))
        forwarding = asyncio.create_task(self._forward(queue, writer, direction))
        try:
            done, _ = await asyncio.wait([reading, forwarding], return_when=asyncio.FIRST_COMPLETED)
            if forwarding not in done:
                await forwarding
        finally:
            for task in (reading, forwarding):
                task.cancel()
            await asyncio.gather(reading, forwarding, return_exceptions=True)

    async def _pump_in_turn(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        """Each chunk read, held, written, then the next: a stall per chunk."""
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(CHUNK):
                if (delay := self._delay(direction)) > 0:
                    await asyncio.sleep(delay)
                if writer.is_closing():
                    return
                writer.write(chunk)
                await writer.drain()

    async def _forward(
        self,
        queue: asyncio.Queue[tuple[float, bytes] | None],
        writer: asyncio.StreamWriter,
        direction: str,
    ) -> None:
        with contextlib.suppress(OSError):
            while (item := await queue.get()) is not None:
                arrived, chunk = item
                # the delay read now, not at arrival: heal() releases what is held at once
                wait = arrived + self._delay(direction) - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if writer.is_closing():
                    return
                writer.write(chunk)
                await writer.drain()

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


async def _read_into(
    reader: asyncio.StreamReader, queue: asyncio.Queue[tuple[float, bytes] | None]
) -> None:
    """Timestamp each chunk as it arrives; None marks the end (EOF or a broken socket)."""
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while chunk := await reader.read(CHUNK):
            await queue.put((time.monotonic(), chunk))
    await queue.put(None)
