"""One policy for every aiohttp port lbdemo listens on: head deadline, idle timeout, caps.

The balancer's data port has its own defence against slow and greedy clients (deadlines in its
sweeper, a connection cap per process and per address). Its admin API, the daemon API, the
dashboard and the replicas run on aiohttp, which has none of that: no deadline for a request
head (it only closes a connection idle for its keep-alive timeout, 3630 s unless told), no
connection cap, and a token checked only once a head is whole. 20,200 half-sent heads to the
admin port once used every descriptor of the balancer process, and its data port with them.

:class:`GuardedAppRunner` serves an aiohttp application under a :class:`ListenerPolicy`:

- a request head must be whole ``head_timeout`` after the connection opened (the first one)
  or after its first byte (later ones), else 408 and close (silently if nothing came at all);
- a connection idle between requests closes after ``keepalive_timeout`` (aiohttp's own timer);
- at most ``max_connections`` guarded connections per process and ``max_per_client`` per
  client address; one more is answered 503 at once and closed.

The answers are the data port's: JSON ``{"error": ...}``, ``Connection: close``. The per-process
count is shared by every guarded port of the process, as its descriptors are.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

# A refused connection stays open at most this long for its 503 to be read (closing it with
# the client's request unread would reset it, which can destroy the answer first) ...
REFUSED_LINGER = 1.0
# ... and at most this many linger at once: a flood of refused connections must not hold
# descriptors itself; past it, a refused one is closed right after its answer.
MAX_LINGERING = 64


@dataclass(frozen=True)
class ListenerPolicy:
    """The limits of one aiohttp port (nginx's names in the comments)."""

    head_timeout: float = 10.0  # client_header_timeout
    body_timeout: float = 20.0  # client_body_timeout (here: for the whole body, see read_body)
    # After an answer given before its body was read (a 408, 413 or 401), the rest of the body
    # is read and dropped this long at most, so the answer is not lost to a reset; aiohttp's.
    lingering_time: float = 10.0  # lingering_time
    keepalive_timeout: float = 75.0  # keepalive_timeout
    max_connections: int = 512  # worker_connections (here: per process, all guarded ports)
    max_per_client: int = 128  # limit_conn per client address
    # Headers every answer of this policy carries (a replica's X-Replica).
    headers: tuple[tuple[str, str], ...] = ()


# The control ports (admin API, daemon API, dashboard) are used by one operator's tools.
CONTROL_POLICY = ListenerPolicy()


class BodyRefused(Exception):
    """A request body that is not read: too large (413) or too slow (408)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: web.BaseRequest, max_bytes: int) -> bytes:
    """The whole body of ``request``: to its declared length, or its last chunk.

    One ``content.read(n)`` returns what has arrived so far, not the body: a body that came in
    two TCP pieces (or two chunks) was judged on its first. Raises :class:`BodyRefused` for a
    body over ``max_bytes`` (said or found) or not whole within the port's ``body_timeout``
    (the data port's deadline for a body, without its allowance per byte: these are small).
    """
    handler = request.protocol
    policy = handler._policy if isinstance(handler, GuardedRequestHandler) else CONTROL_POLICY
    timeout = policy.body_timeout
    too_large = f"body larger than {max_bytes} bytes"
    if request.content_length is not None and request.content_length > max_bytes:
        raise BodyRefused(413, too_large)
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            while part := await request.content.readany():
                size += len(part)
                if size > max_bytes:
                    raise BodyRefused(413, too_large)
                parts.append(part)
    except TimeoutError:
        raise BodyRefused(408, f"request body not complete within {timeout:g} s") from None
    return b"".join(parts)


class ConnectionCounts:
    """Guarded connections open in this process, in total and per client address."""

    def __init__(self) -> None:
        self.total = 0
        self.per_client: dict[str, int] = {}
        self.lingering = 0

    def admit(self, peer: str, policy: ListenerPolicy) -> str | None:
        """Count a new connection from ``peer``; or say why it is refused."""
        if self.total >= policy.max_connections:
            return f"too many connections (limit {policy.max_connections})"
        held = self.per_client.get(peer, 0)
        if held >= policy.max_per_client:
            return f"too many connections from {peer} (limit {policy.max_per_client})"
        self.total += 1
        self.per_client[peer] = held + 1
        return None

    def release(self, peer: str) -> None:
        self.total -= 1
        left = self.per_client[peer] - 1
        if left:
            self.per_client[peer] = left
        else:
            del self.per_client[peer]


PROCESS_COUNTS = ConnectionCounts()


def error_answer(status: int, message: str, policy: ListenerPolicy) -> bytes:
    """A whole HTTP/1.1 answer with a JSON error, closing the connection."""
    body = json.dumps({"error": message}).encode()
    reason = {408: "Request Timeout", 503: "Service Unavailable"}.get(status, "Error")
    extra = "".join(f"{name}: {value}\r\n" for name, value in policy.headers)
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
    )
    return head.encode("latin-1") + body


class GuardedRequestHandler(RequestHandler):
    """aiohttp's protocol for one connection, admitted under the caps, with a head deadline."""

    def __init__(self, manager: GuardedServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._policy = manager.policy
        self._counts = manager.counts
        self._peer: str | None = None  # set once admitted
        self._refused: asyncio.Transport | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._heads = 0  # complete heads when the timer was armed
        self._got_bytes = False  # since the timer was armed
        self._draining = False  # answered 408: what still comes is dropped until we close

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        why = self._counts.admit(address, self._policy)
        if why is not None:
            self._refuse(cast(asyncio.Transport, transport), why)
            return
        self._peer = address
        super().connection_made(transport)
        self._arm_head_deadline()

    def _refuse(self, transport: asyncio.Transport, why: str) -> None:
        self._refused = transport
        answer = error_answer(503, why, self._policy)
        self._answer_and_linger(transport, answer, close=transport.close, expire=transport.abort)

    def _answer_and_linger(
        self,
        transport: asyncio.Transport,
        answer: bytes,
        *,
        close: Callable[[], None],
        expire: Callable[[], None],
    ) -> bool:
        """Write an answer given before the request was read, half-close, and linger up to
        REFUSED_LINGER (then ``expire``) dropping what the client still sends: closing on its
        unread bytes would reset the connection, and a reset can destroy the answer before the
        client reads it. Past MAX_LINGERING at once, or where the transport cannot half-close,
        ``close`` at once instead (a flood must not hold descriptors). True when it lingers."""
        transport.write(answer)
        if self._counts.lingering >= MAX_LINGERING:
            close()
            return False
        try:
            transport.write_eof()
        except (NotImplementedError, OSError, RuntimeError):
            close()
            return False
        self._counts.lingering += 1
        self._linger = self._loop.call_later(REFUSED_LINGER, expire)
        return True

    def _stop_lingering(self) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
            self._counts.lingering -= 1

    def data_received(self, data: bytes) -> None:
        if self._refused is not None or self._draining:
            return  # the request of a refused or timed-out client is not read
        heads = self._request_count
        super().data_received(data)
        if self._request_count != heads:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            return
        if not data:
            return
        self._got_bytes = True
        waiter = self._waiter
        if self._head_timer is None and waiter is not None and not waiter.done():
            # Idle between requests, and bytes came: a head has begun. Its deadline runs now.
            self._arm_head_deadline()
            self._got_bytes = True

    def _arm_head_deadline(self) -> None:
        self._heads = self._request_count
        self._got_bytes = False
        self._head_timer = self._loop.call_later(self._policy.head_timeout, self._head_late)

    def _head_late(self) -> None:
        self._head_timer = None
        transport = self.transport
        if transport is None or self._request_count != self._heads:
            return
        if not self._got_bytes:
            self.force_close()  # nothing came: nobody to answer
            return
        message = f"request head not complete within {self._policy.head_timeout:g} s"
        # A slow client sends on after the deadline: linger rather than close on its bytes.
        answer = error_answer(408, message, self._policy)
        if not self._answer_and_linger(
            transport, answer, close=self.force_close, expire=self.force_close
        ):
            return
        self._draining = True
        # Answered: the connection leaves its caps (the lingering count bounds it from now on),
        # so a client that sent one slow head is not held to its share by it.
        if self._peer is not None:
            self._counts.release(self._peer)
            self._peer = None

    def eof_received(self) -> None:
        if self._refused is not None:
            self._refused.close()
        elif self._draining:
            self.force_close()  # the client has read its 408 and closed: so do we

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_lingering()
        if self._refused is not None:
            self._refused = None
            return
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._draining = False
        if self._peer is not None:
            self._counts.release(self._peer)
            self._peer = None
        super().connection_lost(exc)


class GuardedServer(web.Server):
    """aiohttp's low-level server, making guarded protocols (see :func:`guard`)."""

    policy: ListenerPolicy
    counts: ConnectionCounts
    handler_class: type[GuardedRequestHandler]

    def __call__(self) -> RequestHandler:
        return self.handler_class(self, loop=self._loop, **self._kwargs)


def guard(
    server: web.Server,
    policy: ListenerPolicy,
    handler_class: type[GuardedRequestHandler] = GuardedRequestHandler,
    counts: ConnectionCounts = PROCESS_COUNTS,
) -> GuardedServer:
    """``server``, now making ``handler_class`` protocols under ``policy``."""
    # The server aiohttp built for the app keeps everything it set up; only the protocol it
    # makes per connection changes (aiohttp has no hook for that).
    server.__class__ = GuardedServer
    guarded = cast(GuardedServer, server)
    guarded.policy = policy
    guarded.counts = counts
    guarded.handler_class = handler_class
    guarded._kwargs["keepalive_timeout"] = policy.keepalive_timeout
    guarded._kwargs["lingering_time"] = policy.lingering_time
    return guarded


class GuardedAppRunner(web.AppRunner):
    """``web.AppRunner`` whose connections are guarded by ``policy``."""

    def __init__(
        self,
        app: web.Application,
        *,
        policy: ListenerPolicy = CONTROL_POLICY,
        handler_class: type[GuardedRequestHandler] = GuardedRequestHandler,
        counts: ConnectionCounts = PROCESS_COUNTS,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self.policy = policy
        self._handler_class = handler_class
        self._counts = counts

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return guard(server, self.policy, self._handler_class, self._counts)
