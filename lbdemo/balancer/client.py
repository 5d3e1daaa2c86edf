"""The client side of the data path: a :class:`ClientConnection` per client socket.

A request is parsed with httptools as it arrives; once its head is complete it is *dispatched*:
the strategy picks a replica, an idle keep-alive connection to it is taken (or opened), the
rewritten head and any body bytes received so far are written, and the rest of the body is
streamed as it comes. Requests pipelined on one connection queue behind the active one (reading
pauses meanwhile), so responses leave in order. Backpressure is passed both ways with
``pause_reading``/``resume_reading`` (:mod:`lbdemo.balancer.flow`): memory per connection stays
bounded whatever the body size. Deadlines are checked by the sweeper (``check_timeouts``).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections import deque
from collections.abc import Collection
from typing import TYPE_CHECKING, cast

import httptools

from lbdemo.balancer.chunks import MAX_SIZE_DIGITS, ChunkSizes
from lbdemo.balancer.exchange import Exchange
from lbdemo.balancer.flow import (
    PAUSE_CLOSING,
    PAUSE_PENDING,
    PAUSE_PIPELINE,
    FlowControl,
)
from lbdemo.balancer.heads import scan_request
from lbdemo.balancer.http import (
    HOP_BY_HOP,
    LAST_CHUNK,
    chunk,
    connection_tokens,
    drop_nominated,
    error_response,
)
from lbdemo.balancer.refused import RefusedConnection

if TYPE_CHECKING:
    from lbdemo.balancer.context import ProxyContext
    from lbdemo.balancer.pool import Replica
    from lbdemo.balancer.upstream import UpstreamConnection

log = logging.getLogger(__name__)

# Body bytes held while a replica connection is being opened, before reading pauses.
PENDING_LIMIT = 256 * 1024

_NO_REPLICAS: tuple[Replica, ...] = ()

# Request durations for the histogram: a vDSO clock read, and finer than uvloop's loop.time(),
# which counts in milliseconds.
clock = time.perf_counter


class _Reject(Exception):
    """Raised inside a parser callback to abandon the connection with an error status."""


class ClientConnection(FlowControl):
    """The client side of the data path."""

    __slots__ = (
        "_begun",
        "_body_at",
        "_checked_at",
        "_chunked",
        "_chunks",
        "_close_when_idle",
        "_cookie",
        "_final",
        "_forwarded",
        "_has_host",
        "_head_at",
        "_head_began_now",
        "_head_extra",
        "_head_size",
        "_headers",
        "_in_head",
        "_ip",
        "_key_header",
        "_length",
        "_no_more",
        "_parser",
        "_plain_host",
        "_plain_in",
        "_plain_method",
        "_plain_out",
        "_proxy_connection",
        "_queue",
        "_raw",
        "_reading",
        "_reject",
        "_seen_at",
        "_seen_rx",
        "_tokens",
        "_url",
        "_xff",
        "ctx",
        "rx",
    )

    def __init__(self, ctx: ProxyContext) -> None:
        super().__init__(ctx.now)
        self.ctx = ctx
        self.rx = 0
        self._parser = httptools.HttpRequestParser(self)
        # Whether a connection stays open after a request is decided here (Exchange.keep_alive,
        # on_message_begin), by Connection alone: llhttp would also close on Proxy-Connection.
        self._parser.set_dangerous_leniencies(lenient_keep_alive=True)
        self._queue: deque[Exchange] = deque()
        self._reading: Exchange | None = None
        self._no_more = False
        self._close_when_idle = False
        self._final: bytes | None = None
        self._reject: tuple[int, str] | None = None
        self._ip = b"unknown"
        self._forwarded = b"X-Forwarded-For: unknown\r\nX-Forwarded-Proto: http\r\n\r\n"
        # The last plain request head and what it became: keep-alive clients often repeat one
        # request byte for byte, and then neither scan nor rewrite is needed again.
        self._plain_in = b""
        self._plain_out = b""
        self._plain_method = b""
        self._plain_host = False
        self._seen_rx = 0
        self._seen_at = ctx.now
        # Deadlines: when the head in progress (or, before any byte, the connection) began,
        # when the body in progress began, when the sweeper last looked.
        self._head_at = ctx.now
        self._body_at = ctx.now
        self._checked_at = ctx.now
        self._begun = 0  # messages the parser has begun
        # Per-request parse state, reset in on_message_begin.
        self._in_head = False
        self._head_began_now = False
        self._head_size = 0
        self._head_extra = 0
        self._url: list[bytes] = []
        self._headers: list[bytes] = []
        self._tokens: set[bytes] | None = None
        self._xff: bytes | None = None
        self._has_host = False
        self._chunked = False
        self._length = -1
        self._key_header: bytes | None = None
        self._cookie: bytes | None = None
        self._proxy_connection = False
        # The reads the head in progress came in (the request line is checked in them), and
        # the chunk-size lines of a chunked body, followed in the raw bytes (chunks.py).
        self._raw: bytes | list[bytes] = b""
        self._chunks: ChunkSizes | None = None

    # -- socket lifecycle --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its interface.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if peer:
            self._ip = str(peer[0]).encode("latin-1")
        # The lines a plain request head gets, built once per connection.
        self._forwarded = b"X-Forwarded-For: %s\r\nX-Forwarded-Proto: http\r\n\r\n" % self._ip
        ctx = self.ctx
        held = ctx.per_client.get(self._ip, 0)
        if held >= ctx.max_per_client:
            # nginx's limit_conn: this address holds its share; the socket gets the 503 the
            # global cap gives, and this object never counts as a connection.
            why = f"too many connections from {self._ip.decode()} (limit {ctx.max_per_client})"
            refused = RefusedConnection(ctx, why)
            transport.set_protocol(refused)
            refused.connection_made(transport)
            return
        ctx.per_client[self._ip] = held + 1
        ctx.connections.add(self)
        self._seen_at = self._head_at = self._checked_at = self.ctx.now
        if self.ctx.closing:
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        ctx = self.ctx
        if self in ctx.connections:
            ctx.connections.discard(self)
            left = ctx.per_client[self._ip] - 1
            if left:
                ctx.per_client[self._ip] = left
            else:
                del ctx.per_client[self._ip]
        for ex in self._queue:
            if not ex.response_done:
                ex.status = ex.status if ex.response_started else 499
                self._record(ex)
                self._drop_upstream(ex, abort=True)
        self._queue.clear()

    def send(self, data: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.transport.close()

    def shutdown(self) -> None:
        """Graceful stop: close now if idle, else after the response in progress."""
        self._close_when_idle = True
        if not self._queue and not self._in_head:
            self.close()

    def closing_after(self, ex: Exchange) -> bool:
        """Whether the connection closes after ``ex`` (the response then says so)."""
        if self._close_when_idle:
            return True
        # With an error of our own still to send (_final), that error is the last answer.
        return self._no_more and self._final is None and bool(self._queue) and self._queue[-1] is ex

    # -- flow control (the rest is FlowControl's) -------------------------------------------------

    def read_upstream(self, on: bool) -> None:
        if self._queue and self._queue[0].upstream is not None:
            if on:
                self._queue[0].upstream.resume_reading()
            else:
                self._queue[0].upstream.pause_reading()

    # -- parsing the request -----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.rx += 1
        # The parser is between messages when nothing is queued and no head has begun: if the
        # fast path declines, the parser below still gets the message from its first byte.
        if (
            not self._queue
            and not self._in_head
            and not self._no_more
            and not self._close_when_idle
            and self._plain_request(data)
        ):
            return
        if self._no_more and self._reading is None:
            return  # after "Connection: close" or an error, further input is ignored
        between = not self._in_head and self._reading is None
        begun = self._begun
        if self._chunks is not None and not self._chunks.feed(data):
            self._terminal(400, f"malformed request: a chunk size of {MAX_SIZE_DIGITS}+ digits")
            return
        if not self._in_head:
            self._raw = data  # most heads come in one read: no list for them
        elif isinstance(self._raw, bytes):
            self._raw = [self._raw, data]
        else:
            self._raw.append(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._terminal(501, "protocol upgrade is not supported")
            return
        except httptools.HttpParserError as exc:
            if self._reject is not None:
                status, message = self._reject
                if not status:
                    self._set_pause(PAUSE_CLOSING)
                    return
            elif isinstance(exc, httptools.HttpParserCallbackError):
                log.error("data path failed", exc_info=exc.__context__ or exc)
                status, message = 500, "internal error in the balancer"
            else:
                status, message = 400, f"malformed request: {exc}"
            self._terminal(status, message)
            return
        if between and begun == self._begun:
            # Only empty lines between requests, which the parser skips however many come
            # (RFC 9112 §2.2): not activity, or "\r\n" every few seconds would hold the
            # connection open forever.
            self.rx -= 1
            return
        if self._in_head:
            # A header too long to be reported piecewise grows inside the parser; count it here.
            if self._head_began_now:
                self._head_began_now = False
            else:
                self._head_extra += len(data)
                if self._head_extra > self.ctx.max_header:
                    self._terminal(431, "request header section too large")

    def _plain_request(self, data: bytes) -> bool:
        """Forward ``data`` if it is exactly one plain body-less head (see ``scan_request``)."""
        if data != self._plain_in:
            if (
                data[-4:] != b"\r\n\r\n"
                or len(data) > self.ctx.max_header
                or not self.ctx.fast_requests
            ):
                return False
            scan = scan_request(data)
            if scan is None:
                return False
            self._plain_in = data
            self._plain_out = data[:-2] + self._forwarded
            self._plain_method, self._plain_host = scan
        ex = Exchange(self._plain_method, self._plain_out, clock())
        ex.has_host = self._plain_host
        ex.request_done = True
        self._queue.append(ex)
        self._dispatch(ex)
        return True

    def _refuse(self, status: int, message: str) -> None:
        self._reject = (status, message)
        raise _Reject(message)

    def on_message_begin(self) -> None:
        if self._no_more:
            self._refuse(0, "")  # after a request that closes the connection: read no more
        self._begun += 1
        self._in_head = True
        self._head_at = self.ctx.now
        self._head_began_now = True
        self._head_size = 0
        self._head_extra = 0
        self._url = []
        self._headers = []
        self._tokens = None
        self._xff = None
        self._has_host = False
        self._chunked = False
        self._length = -1
        self._key_header = None
        self._cookie = None
        self._proxy_connection = False
        self._chunks = None

    def on_url(self, url: bytes) -> None:
        self._url.append(url)
        self._head_size += len(url)
        if self._head_size > self.ctx.max_header:
            self._refuse(431, "request header section too large")

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:
            return  # a trailer of a chunked body: not forwarded
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.ctx.max_header:
            self._refuse(431, "request header section too large")
        lname = name.lower()
        if lname in HOP_BY_HOP or lname.startswith(b"proxy-"):
            if lname == b"transfer-encoding":
                # Only plain "chunked" (RFC 9112 §6.1: 501 for codings we do not implement).
                # "gzip, chunked" would reach the replica as plain chunked, the gzip lost;
                # "xchunked" or a second "chunked" are framings parsers disagree on.
                if self._chunked or value.strip().lower() != b"chunked":
                    self._refuse(501, "unsupported Transfer-Encoding (only chunked)")
                self._chunked = True
            elif lname == b"connection":
                # Several Connection headers are one list (RFC 9110 §5.3): all nominate.
                tokens = connection_tokens(value)
                self._tokens = tokens if self._tokens is None else self._tokens | tokens
            elif lname == b"proxy-connection":
                self._proxy_connection = True  # llhttp reads it as Connection; h11 does not
            return
        if lname == b"x-forwarded-for":
            self._xff = value if self._xff is None else self._xff + b", " + value
            return
        if lname == b"x-forwarded-proto":
            return
        if lname == b"host":
            if self._has_host:
                # Which one would the replica use? RFC 9112 §3.2: refuse.
                self._refuse(400, "more than one Host header")
            self._has_host = True
        elif lname == b"content-length":
            self._length = int(value) if value.isdigit() else -1
        elif lname == self.ctx.sticky_header:
            self._key_header = value
        elif lname == b"cookie":
            self._cookie = value
        self._headers += (name, b": ", value, b"\r\n")

    def on_headers_complete(self) -> None:
        self._in_head = False
        ctx = self.ctx
        self._body_at = ctx.now
        parser = self._parser
        if parser.get_http_version() not in ("1.0", "1.1"):
            # Framed as HTTP/1.x, but claiming another version: whose keep-alive rule applies is
            # anyone's guess (httptools reads "2.0" as 1.0, h11 as 1.1), so answer none.
            self._refuse(505, "only HTTP/1.0 and HTTP/1.1 are spoken here")
        if parser.should_upgrade():
            self._refuse(501, "protocol upgrade is not supported")
        if self._length > ctx.max_body:
            self._refuse(413, f"request body larger than {ctx.max_body} bytes")
        method = parser.get_method()
        url = self._url[0] if len(self._url) == 1 else b"".join(self._url)
        raw = self._raw
        if not isinstance(raw, bytes):
            self._raw = last = raw[-1]  # a later head begins in this read at the earliest
            raw = b"".join(raw)
        else:
            last = raw
        if b"  " in raw or self._chunked:  # else the request line has no double space
            self._check_raw_head(method, url, raw, last)
        headers = self._headers
        if self._tokens:
            headers = drop_nominated(headers, self._tokens)
        xff = self._ip if self._xff is None else self._xff + b", " + self._ip
        parts = [method, b" ", url, b" HTTP/1.1\r\n", *headers]
        parts += (b"X-Forwarded-For: ", xff, b"\r\nX-Forwarded-Proto: http\r\n")
        if self._chunked:
            parts.append(b"Transfer-Encoding: chunked\r\n")
        parts.append(b"\r\n")
        ex = Exchange(method, b"".join(parts), clock())
        ex.has_host = self._has_host
        ex.chunked = self._chunked
        ex.http10 = parser.get_http_version() == "1.0"
        if self._proxy_connection:
            # By Connection alone, as h11 reads it: llhttp counts Proxy-Connection too.
            tokens = self._tokens or set()
            keep = b"keep-alive" in tokens if ex.http10 else b"close" not in tokens
        else:
            keep = parser.should_keep_alive()
        ex.keep_alive = keep and not self._close_when_idle
        if ctx.sticky_header is not None or ctx.sticky_cookie is not None:
            ex.key = ctx.key_from(self._key_header, self._cookie) if ctx.key_from else None
        queue = self._queue
        if len(queue) >= ctx.max_pipeline:
            # One read can hold thousands of small pipelined heads, all parsed at once.
            self._refuse(429, f"more than {ctx.max_pipeline} pipelined requests")
        self._reading = ex
        queue.append(ex)
        if len(queue) == 1:
            self._dispatch(ex)
        else:
            self._set_pause(PAUSE_PIPELINE)

    def _check_raw_head(self, method: bytes, url: bytes, raw: bytes, last: bytes) -> None:
        """What llhttp lets through and h11 refuses, seen in the raw bytes of the head.

        The request line must have single spaces (llhttp skips extra ones); a chunked body's
        size lines are followed from the head's end on. Only the slow path gets here: the fast
        path's scan already takes single spaces and no body. ``raw`` holds the reads of this
        head (and maybe earlier messages), ``last`` the read in progress.
        """
        at = raw.find(b"%s %s HTTP/" % (method, url))
        if at < 0:
            self._refuse(400, "malformed request line (one space between its parts)")
        if not self._chunked:
            return
        end = raw.find(b"\r\n\r\n", at)
        start = end + 4 - (len(raw) - len(last))  # where the body begins in this read
        if end < 0 or not 0 <= start <= len(last):
            return  # cannot tell (never for a head refused by nothing else): llhttp decides
        chunks = ChunkSizes()
        if not chunks.feed(last, start):
            self._refuse(400, f"malformed request: a chunk size of {MAX_SIZE_DIGITS}+ digits")
        if not chunks.done:
            self._chunks = chunks

    def on_body(self, body: bytes) -> None:
        ex = self._reading
        if ex is None:
            return
        ex.body_size += len(body)
        if ex.body_size > self.ctx.max_body:
            self._refuse(413, f"request body larger than {self.ctx.max_body} bytes")
        if ex.discard:
            return
        data = chunk(body) if ex.chunked else body
        up = ex.upstream
        if up is not None:
            up.transport.write(data)  # type: ignore[union-attr]
        else:
            if ex.hold(data) > PENDING_LIMIT:
                self._set_pause(PAUSE_PENDING)

    def on_message_complete(self) -> None:
        ex = self._reading
        self._reading = None
        if ex is None:
            return
        ex.request_done = True
        self._chunks = None
        if not ex.keep_alive:
            self._no_more = True
        if ex.discard:
            if ex.response_done and self._queue and self._queue[0] is ex:
                self._finish(ex)
            return
        if ex.chunked:
            up = ex.upstream
            if up is not None:
                up.transport.write(LAST_CHUNK)  # type: ignore[union-attr]
            else:
                ex.hold(LAST_CHUNK)

    # -- sending it upstream -----------------------------------------------------------------------

    def _dispatch(self, ex: Exchange, tried: Collection[Replica] = _NO_REPLICAS) -> None:
        ctx = self.ctx
        replica = ctx.strategy.pick(ctx.replicas.members, ex.key, tried)
        if replica is None:
            if tried:
                last = list(tried)[-1]
                self._respond_error(ex, 502, f"cannot connect to replica {last.name}", last)
            else:
                self._respond_error(ex, 503, "no healthy replica", None)
            return
        conn = replica.take_idle()
        if conn is not None:
            self._attach(ex, replica, conn)
        else:
            ctx.spawn(self._connect(ex, replica, tried))

    async def _connect(self, ex: Exchange, replica: Replica, tried: Collection[Replica]) -> None:
        ctx = self.ctx
        try:
            conn = await ctx.open_connection(replica)
            if conn.closed:
                # Reset by the replica before anything was sent: a failed connect, not a
                # request to write on a dead transport (it would never be answered).
                raise ConnectionResetError(errno.ECONNRESET, "connection reset by replica")
        except (OSError, TimeoutError) as exc:
            ctx.connect_failed(replica)
            if self.closed or ex.response_done:
                return
            if ex.idempotent and ctx.config.retry_idempotent:
                # Nothing was sent, so trying the next replica cannot repeat a side effect.
                ctx.metrics.retries += 1
                self._dispatch(ex, (*tried, replica))
                return
            why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
            message = f"cannot connect to replica {replica.name}: {why}"
            self._respond_error(ex, 502, message, replica)
            return
        if self.closed or ex.response_done:
            conn.close()
            return
        self._attach(ex, replica, conn)

    def _attach(self, ex: Exchange, replica: Replica, conn: UpstreamConnection) -> None:
        ex.replica = replica
        ex.upstream = conn
        replica.in_flight += 1
        replica.requests += 1
        conn.bind(self, ex)
        if self.write_paused:
            conn.pause_reading()
        data = ex.head
        if not ex.has_host:
            host = b"Host: %s:%d\r\n\r\n" % (replica.host.encode("idna"), replica.port)
            data = data[:-2] + host
        if ex.pending:
            data = b"".join([data, *ex.pending])
            ex.pending = None
            ex.pending_size = 0
            self._clear_pause(PAUSE_PENDING)
        ex.seen_up_rx = conn.rx
        ex.seen_up_at = self.ctx.now
        conn.transport.write(data)  # type: ignore[union-attr]

    # -- finishing ---------------------------------------------------------------------------------

    def response_complete(self, ex: Exchange) -> None:
        """The replica's response was sent to the client in full."""
        ex.response_done = True
        ex.upstream = None
        replica = ex.replica
        if replica is not None:
            ex.replica = None
            self.ctx.metrics.observe(replica.name, ex.status, clock() - ex.started)
            # Replica.end(), inlined: this runs once per request.
            replica.in_flight -= 1
            if not replica.in_flight and replica.idle_waiters:
                replica.wake_idle_waiters()
        else:
            self._record(ex)
        if ex.request_done:
            queue = self._queue
            if (
                len(queue) == 1
                and queue[0] is ex
                and ex.keep_alive
                and not (self._pause or self._close_when_idle)
            ):
                # The common end of a keep-alive exchange: nothing queued behind, nothing
                # paused, nothing to close; what _finish would conclude, without the call.
                queue.clear()
                return
            self._finish(ex)
        else:
            # The replica answered before the request body ended: read and drop the rest.
            ex.discard = True

    def upstream_failed(
        self, ex: Exchange, conn: UpstreamConnection, message: str, *, retryable: bool
    ) -> None:
        """The replica connection broke or misbehaved while serving ``ex``."""
        if ex.upstream is not conn:
            return
        ex.upstream = None
        replica = ex.replica
        ex.replica = None
        if replica is not None:
            replica.end()
        if self.closed or ex.response_done:
            return
        if (
            retryable
            and conn.uses > 1
            and ex.idempotent
            and not ex.response_started
            and ex.body_size == 0
            and self.ctx.config.retry_idempotent
        ):
            # A reused keep-alive connection the replica had closed just before we wrote:
            # the request was not processed, and GET/HEAD/OPTIONS may be sent again anyway.
            self.ctx.metrics.retries += 1
            self._dispatch(ex)
            return
        if replica is not None:
            replica.errors += 1
        if ex.response_started:
            ex.response_done = True
            self._record(ex, replica.name if replica else None)
            self.close()  # the client sees a truncated response, never a corrupt one
            return
        self._respond_error(ex, 502, f"{message} ({replica.name if replica else '?'})", replica)

    def _respond_error(
        self, ex: Exchange, status: int, message: str, replica: Replica | None
    ) -> None:
        """Answer ``ex`` with the balancer's own JSON error (it must not have started)."""
        self._drop_upstream(ex, abort=True)
        close = not ex.keep_alive or self.closing_after(ex)
        self.send(error_response(status, message, replica.name if replica else None, close=close))
        ex.status = status
        ex.response_started = ex.response_done = True
        self._record(ex, replica.name if replica else None)
        if ex.request_done:
            self._finish(ex)
        else:
            ex.discard = True

    def _drop_upstream(self, ex: Exchange, *, abort: bool) -> None:
        conn = ex.upstream
        ex.upstream = None
        if ex.replica is not None:
            ex.replica.end()
            ex.replica = None
        if conn is not None:
            if abort:
                conn.abort()
            else:
                conn.close()

    def _record(self, ex: Exchange, name: str | None = None) -> None:
        if name is None and ex.replica is not None:
            name = ex.replica.name
        self.ctx.metrics.observe(name, ex.status, clock() - ex.started)

    def _finish(self, ex: Exchange) -> None:
        queue = self._queue
        if queue and queue[0] is ex:
            queue.popleft()
        if queue:
            if len(queue) == 1:
                self._clear_pause(PAUSE_PIPELINE)
            nxt = queue[0]
            if not nxt.response_done:
                self._dispatch(nxt)
            return
        if self._pause:
            self._clear_pause(PAUSE_PIPELINE)
        if self._final is not None:
            self.send(self._final)
            self._final = None
            self.close()
        elif not ex.keep_alive or (self._close_when_idle and not self._in_head):
            self.close()

    def _terminal(self, status: int, message: str) -> None:
        """Stop reading; answer the requests queued ahead, then this error, then close."""
        self._no_more = True
        self._set_pause(PAUSE_CLOSING)
        self._reading = None
        self._in_head = False
        final = error_response(status, message, None, close=True)
        self.ctx.metrics.observe(None, status, 0.0)
        for ex in list(self._queue):
            if ex.request_done:
                continue
            self._queue.remove(ex)
            if ex.response_started and not ex.response_done:
                self._record(ex)
                self._drop_upstream(ex, abort=True)
                self._queue.clear()
                if self.transport is not None:
                    self.transport.abort()
                return
            self._drop_upstream(ex, abort=True)
        if self._queue:
            self._final = final
        else:
            self.send(final)
            self.close()

    def _drop_stalled(self) -> None:
        for ex in self._queue:
            if not ex.response_done:
                ex.response_done = True
                ex.status = ex.status if ex.response_started else 499
                self._record(ex)
                self._drop_upstream(ex, abort=True)
        self._queue.clear()
        if self.transport is not None:
            self.transport.abort()

    # -- timeouts ----------------------------------------------------------------------------------

    def check_timeouts(self, now: float) -> None:
        """Called by the sweeper every tick with the loop's time."""
        if self.closed:
            return
        if self.rx != self._seen_rx:
            self._seen_rx = self.rx
            self._seen_at = now
        config = self.ctx.config
        if self._pause:
            # Reading is paused by us (a request queued, a replica slow to read): the client
            # cannot be late meanwhile, so its deadlines move on with the clock.
            elapsed = now - self._checked_at
            self._head_at += elapsed
            self._body_at += elapsed
        self._checked_at = now
        if self.stalled(now, config.client_timeout):
            # A client that reads nothing of its answers for client_timeout is dropped.
            self._drop_stalled()
            return
        idle = now - self._seen_at
        queue = self._queue
        if not self._pause and (self._in_head or self._reading is not None):
            reading = self._reading
            if idle > config.client_timeout:
                self._terminal(408, "client sent no data in time")
            elif self._in_head and now - self._head_at > config.head_timeout:
                self._terminal(408, f"request head not complete within {config.head_timeout} s")
            elif (
                reading is not None
                and now - self._body_at
                > config.body_timeout + reading.body_size / config.min_body_rate
            ):
                self._terminal(
                    408,
                    f"request body arrived slower than {config.min_body_rate:g} bytes/s",
                )
            return
        if not queue:
            if self.rx == 0 and now - self._head_at > config.head_timeout:
                self.close()  # connected, never sent a byte: nothing to answer
            elif idle > config.keepalive_timeout and not self._in_head:
                self.close()
            return
        ex = queue[0]
        conn = ex.upstream
        if conn is None or not ex.request_done or conn.reading_paused:
            return
        if conn.rx != ex.seen_up_rx:
            ex.seen_up_rx = conn.rx
            ex.seen_up_at = now
        elif now - ex.seen_up_at > config.upstream_timeout:
            replica = ex.replica
            if replica is not None:
                replica.errors += 1
            if ex.response_started:
                self._record(ex)
                self._drop_upstream(ex, abort=True)
                self.close()
            else:
                self._respond_error(
                    ex, 504, f"replica {replica.name if replica else '?'} timed out", replica
                )
