"""The answer to a client over the connection cap: 503 at once, then close."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from lbdemo.balancer.http import error_response

if TYPE_CHECKING:
    from lbdemo.balancer.context import ProxyContext

# How long a refused connection may stay open for its 503 to be read.
REFUSED_LINGER = 1.0


class RefusedConnection(asyncio.Protocol):
    """A client over the connection cap: a 503 JSON answer, then the connection closes.

    The answer is written at once, before the request is read. Closing with the client's
    request unread would make the kernel reset the connection, which can destroy the answer
    before the client reads it; so the write side is shut, what arrives is discarded, and
    the socket closes when the client closes its side or after REFUSED_LINGER seconds.
    """

    def __init__(self, ctx: ProxyContext, message: str | None = None) -> None:
        self.ctx = ctx
        self.message = message or f"too many connections (limit {ctx.max_connections})"
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = t = cast(asyncio.Transport, transport)
        t.write(error_response(503, self.message, None, close=True))
        self.ctx.metrics.observe(None, 503, 0.0)
        try:
            t.write_eof()
        except (NotImplementedError, OSError, RuntimeError):
            t.close()
            return
        self.timer = self.ctx.loop.call_later(REFUSED_LINGER, t.abort)

    def data_received(self, data: bytes) -> None:
        pass  # the request of a refused client is not read

    def eof_received(self) -> bool:
        if self.transport is not None:
            self.transport.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
