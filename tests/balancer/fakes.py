"""Test doubles for balancer tests: small aiohttp replicas on 127.0.0.1, port 0."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from lbdemo.balancer import Balancer, Upstream


@dataclass
class FakeReplica:
    """A running test replica; ``arrivals`` records (method, path) of every request it read."""

    name: str
    runner: web.AppRunner
    port: int
    arrivals: list[tuple[str, str]] = field(default_factory=list)
    healthy: bool = True
    seen_headers: list[dict[str, str]] = field(default_factory=list)

    @property
    def upstream(self) -> Upstream:
        return Upstream(self.name, "127.0.0.1", self.port)

    async def stop(self) -> None:
        await self.runner.cleanup()


def _replica_app(state: dict[str, Any]) -> web.Application:
    async def echo(request: web.Request) -> web.StreamResponse:
        replica: FakeReplica = state["replica"]
        body = await request.read()
        replica.arrivals.append((request.method, request.path))
        replica.seen_headers.append(dict(request.headers))
        payload = {
            "replica": replica.name,
            "method": request.method,
            "path": request.path_qs,
            "headers": dict(request.headers),
            "body_len": len(body),
        }
        return web.json_response(
            payload,
            headers={
                "X-Replica": replica.name,
                "Keep-Alive": "timeout=5",
                "X-Hop": "drop me",
                "Connection": "X-Hop",
            },
        )

    async def healthz(request: web.Request) -> web.Response:
        replica: FakeReplica = state["replica"]
        if not replica.healthy:
            return web.Response(status=503, text="sick")
        return web.Response(text="ok")

    async def slow(request: web.Request) -> web.Response:
        replica: FakeReplica = state["replica"]
        replica.arrivals.append((request.method, request.path))
        await asyncio.sleep(float(request.query.get("s", "1")))
        return web.Response(text="slow", headers={"X-Replica": replica.name})

    async def big(request: web.Request) -> web.StreamResponse:
        replica: FakeReplica = state["replica"]
        size = int(request.query.get("n", "1000"))
        response = web.StreamResponse(headers={"X-Replica": replica.name})
        if request.query.get("chunked"):
            response.enable_chunked_encoding()
        else:
            response.content_length = size
        await response.prepare(request)
        block = b"x" * 65536
        sent = 0
        while sent < size:
            part = block[: min(65536, size - sent)]
            await response.write(part)
            sent += len(part)
        await response.write_eof()
        return response

    async def upload(request: web.Request) -> web.Response:
        replica: FakeReplica = state["replica"]
        total = 0
        slow = "slow" in request.query
        async for data in request.content.iter_any():
            total += len(data)
            if slow:  # a replica that reads slower than the client sends
                await asyncio.sleep(0.001)
        replica.arrivals.append((request.method, request.path))
        return web.json_response(
            {
                "received": total,
                "chunked": "chunked" in request.headers.get("Transfer-Encoding", ""),
            },
            headers={"X-Replica": replica.name},
        )

    async def drop(request: web.Request) -> web.StreamResponse:
        # Read the whole request, then hang up without answering.
        replica: FakeReplica = state["replica"]
        await request.read()
        replica.arrivals.append((request.method, request.path))
        assert request.transport is not None
        request.transport.abort()
        await asyncio.sleep(0.1)
        raise ConnectionResetError

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/slow", slow)
    app.router.add_get("/big", big)
    app.router.add_route("*", "/upload", upload)
    app.router.add_route("*", "/drop", drop)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


async def start_replica(name: str, port: int = 0) -> FakeReplica:
    state: dict[str, Any] = {}
    runner = web.AppRunner(_replica_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = int(runner.addresses[0][1])
    replica = FakeReplica(name, runner, bound)
    state["replica"] = replica
    return replica


BalancerFactory = Callable[..., Awaitable[Balancer]]


# What a RawReplica writes for one request head: the parts, with a pause between them.
Script = Callable[[bytes], list[bytes]]


@dataclass
class RawReplica:
    """A raw socket replica answering every request head with the parts ``script`` returns.

    A test decides exactly which bytes it answers and how they are split across writes, and
    can count the connections the balancer opened.
    """

    script: Script
    port: int = 0
    heads: list[bytes] = field(default_factory=list)
    connections: int = 0
    server: asyncio.Server | None = None
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                parts = self.script(head)
                for i, part in enumerate(parts):
                    if i:
                        await asyncio.sleep(0.05)
                    if part == b"<close>":
                        writer.close()
                        return
                    writer.write(part)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def upstream(self) -> Upstream:
        return Upstream("raw", "127.0.0.1", self.port)


StartRaw = Callable[[Script], Awaitable[RawReplica]]
