"""A keep-alive connection from the balancer to a replica: parse the response, stream it on.

The connection is bound to one exchange at a time (``bind``); between exchanges it sits in its
replica's idle stack. Response bytes are collected while one ``data_received`` is parsed and
written to the client in one call, so a small response costs one ``send`` instead of three.

Fast path: a response whose head arrives whole and that :func:`scan_response` calls plain
(``Content-Length``, no hop-by-hop header) is passed on as raw bytes, and the rest of its body
is counted, not parsed. Everything else goes through httptools and is rebuilt header by header.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

import httptools

from lbdemo.balancer.http import (
    HOP_BY_HOP,
    LAST_CHUNK,
    NO_BODY_STATUS,
    chunk,
    connection_tokens,
    drop_nominated,
    reason,
)

if TYPE_CHECKING:
    from lbdemo.balancer.client import ClientConnection
    from lbdemo.balancer.context import ProxyContext
    from lbdemo.balancer.exchange import Exchange
    from lbdemo.balancer.pool import Replica


class _Surplus(Exception):
    """Raised inside a parser callback: bytes after the end of the response."""


class UpstreamConnection(asyncio.Protocol):
    """The replica side of the data path."""

    __slots__ = (
        "_chunked",
        "_done",
        "_got_bytes",
        "_head_only",
        "_headers",
        "_interim",
        "_keep",
        "_length",
        "_out",
        "_parser_idle",
        "_raw_left",
        "_scan",
        "_tokens",
        "client",
        "closed",
        "ctx",
        "ex",
        "idle_since",
        "parser",
        "reading_paused",
        "replica",
        "rx",
        "transport",
        "uses",
    )

    def __init__(self, replica: Replica, ctx: ProxyContext) -> None:
        self.replica = replica
        self.ctx = ctx
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.client: ClientConnection | None = None
        self.ex: Exchange | None = None
        self.closed = False
        self.reading_paused = False
        self.uses = 0
        self.idle_since = 0.0
        self.rx = 0  # bumped on every read: the timeout sweeper watches it move
        self._out: list[bytes] = []
        self._headers: list[bytes] = []
        self._tokens: set[bytes] | None = None
        self._length: bytes | None = None
        self._chunked = False
        self._interim = False
        self._head_only = False
        self._done = False  # the response is complete; the parser has not returned yet
        self._keep = False  # ... and the connection may carry another one
        self._got_bytes = False
        # True between messages: only then may the fast path take the next bytes.
        self._parser_idle = True
        self._raw_left = 0  # body bytes still to pass on of a response forwarded raw
        self._scan = replica.scanner.scan

    # -- lifecycle ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its interface.
        self.transport = cast(asyncio.Transport, transport)

    def bind(self, client: ClientConnection, ex: Exchange) -> None:
        self.client = client
        self.ex = ex
        self.uses += 1
        self._got_bytes = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    def abort(self) -> None:
        self.closed = True
        self.client = None
        self.ex = None
        if self.transport is not None:
            self.transport.abort()

    def pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            if not self.closed:
                self.transport.resume_reading()

    # Flow control for the request body: the replica reads slower than the client sends.
    def pause_writing(self) -> None:
        if self.client is not None:
            self.client.upstream_full(True)

    def resume_writing(self) -> None:
        if self.client is not None:
            self.client.upstream_full(False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        client, ex = self.client, self.ex
        self.client = self.ex = None
        if client is None or ex is None:
            self.replica.forget(self)
            return
        if ex.response_started and not ex.response_done and self._eof_delimited():
            # A body without length or chunking ends when the replica closes: that is success.
            self._finish_response(client, ex, reusable=False)
            return
        self._flush(client)
        client.upstream_failed(
            ex, self, "replica closed the connection", retryable=not self._got_bytes
        )

    def _eof_delimited(self) -> bool:
        if self._raw_left:
            return False
        return self._length is None and not self._chunked and not self._head_only

    # -- reading the response ----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.rx += 1
        client = self.client
        if client is None:
            # Bytes on an idle connection: the replica is confused; never reuse it.
            self.replica.forget(self)
            self.close()
            return
        self._got_bytes = True
        left = self._raw_left
        if left:
            self._raw_more(client, data, left)
            return
        if self._parser_idle:
            ex = self.ex
            if ex is not None and ex.method != b"HEAD":
                scan = self._scan(data)
                if scan is not None and scan[1] + scan[2] >= len(data):
                    self._raw_start(client, ex, data, scan)
                    return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._done:
                # The response was whole; what followed it (surplus bytes, or garbage) is
                # dropped with the connection, never sent to the client.
                self._end_response(client, reusable=False)
                return
            ex = self.ex
            self._flush(client)
            self.client = self.ex = None
            self.abort()
            if ex is not None:
                client.upstream_failed(ex, self, "invalid response from replica", retryable=False)
            return
        if self._done:
            self._end_response(client, reusable=self._keep)
        elif self._out:
            self._flush(client)

    def _end_response(self, client: ClientConnection, reusable: bool) -> None:
        """The response to ``ex`` is complete: hand it on, and the connection back or closed."""
        self._done = False
        if self._head_only:
            # httptools cannot be told a response answers HEAD; it would wait for the body.
            self._head_only = False
            self.parser = httptools.HttpResponseParser(self)
            self._parser_idle = True
        ex = self.ex
        if ex is not None:
            self._finish_response(client, ex, reusable=reusable)

    def on_message_begin(self) -> None:
        if self._done:
            # A second message in the read that completed the response: the replica sent
            # more than it declared. Stop parsing; the connection is closed.
            raise _Surplus
        self._parser_idle = False
        self._headers = []
        self._tokens = None
        self._length = None
        self._chunked = False

    def on_header(self, name: bytes, value: bytes) -> None:
        ex = self.ex
        if ex is None or ex.response_started:
            return  # trailers: not forwarded
        lname = name.lower()
        if lname in HOP_BY_HOP or lname.startswith(b"proxy-"):
            if lname == b"transfer-encoding":
                self._chunked = b"chunked" in value.lower()
            elif lname == b"connection":
                self._tokens = connection_tokens(value)
            return
        if lname == b"content-length":
            self._length = value
            return
        self._headers += (name, b": ", value, b"\r\n")

    def on_headers_complete(self) -> None:
        ex = self.ex
        if ex is None:
            return
        status = self.parser.get_status_code()
        headers = self._headers
        if self._tokens:
            headers = drop_nominated(headers, self._tokens)
        status_line = b"HTTP/1.1 %d %s\r\n" % (status, reason(status))
        if status < 200:
            # 100 Continue and friends: pass on, then wait for the final response.
            self._interim = True
            self._out += (status_line, *headers, b"\r\n")
            return
        ex.status = status
        ex.response_started = True
        method = ex.method
        if self._length is not None and not self._chunked:
            headers += (b"Content-Length: ", self._length, b"\r\n")
        elif method == b"HEAD" or status in NO_BODY_STATUS:
            pass
        elif not ex.http10:
            ex.rechunk = True
            headers.append(b"Transfer-Encoding: chunked\r\n")
        else:
            ex.keep_alive = False  # an HTTP/1.0 client learns the end of the body from the close
        client = self.client
        if not ex.keep_alive or (client is not None and client.closing_after(ex)):
            ex.keep_alive = False
            headers.append(b"Connection: close\r\n")
        elif ex.http10:
            headers.append(b"Connection: keep-alive\r\n")
        self._out += (status_line, *headers, b"\r\n")
        if method == b"HEAD":
            self._head_only = True
            self._done = True
            self._keep = self.parser.should_keep_alive()
        # Asked now: once the parser returns it has forgotten this message's headers.
        self._keep = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if self._done:
            raise _Surplus  # body bytes after a HEAD answer, which has none
        ex = self.ex
        if ex is None:
            return
        self._out.append(chunk(body) if ex.rechunk else body)

    def on_message_complete(self) -> None:
        self._parser_idle = True
        if self._interim:
            self._interim = False
            return
        # Handed on once the parser returns: bytes after this message in the same read are
        # surplus, and the connection must not go back to the pool before that is known.
        self._done = True

    # -- the fast path: raw bytes ---------------------------------------------------------------

    def _raw_start(
        self, client: ClientConnection, ex: Exchange, data: bytes, scan: tuple[int, int, int]
    ) -> None:
        """Pass on a plain response whose head is in ``data`` (``scan``: status, sizes)."""
        status, head, body = scan
        ex.status = status
        ex.response_started = True
        left = head + body - len(data)
        if not ex.keep_alive or client.closing_after(ex):
            ex.keep_alive = False
            data = b"%sConnection: close\r\n%s" % (data[: head - 2], data[head - 2 :])
        elif ex.http10:
            data = b"%sConnection: keep-alive\r\n%s" % (data[: head - 2], data[head - 2 :])
        if not client.closed:
            client.transport.write(data)  # type: ignore[union-attr]
        if left:
            self._raw_left = left
        else:
            self._finish_response(client, ex, reusable=True)

    def _raw_more(self, client: ClientConnection, data: bytes, left: int) -> None:
        """More body of a response forwarded raw; ``left`` bytes of it were still due."""
        n = len(data)
        if n < left:
            self._raw_left = left - n
            client.send(data)
            return
        self._raw_left = 0
        ex = self.ex
        if n == left:
            client.send(data)
            if ex is not None:
                self._finish_response(client, ex, reusable=True)
            return
        # Bytes beyond the declared length: the response is whole, the connection is not.
        client.send(data[:left])
        self.close()
        if ex is not None:
            self._finish_response(client, ex, reusable=False)

    # -- handing back ------------------------------------------------------------------------------

    def _finish_response(self, client: ClientConnection, ex: Exchange, reusable: bool) -> None:
        if ex.rechunk:
            self._out.append(LAST_CHUNK)
        if self._out:
            self._flush(client)
        self.client = self.ex = None
        if reusable and ex.request_done and not self.closed:
            if self.reading_paused:
                self.resume_reading()
            self.idle_since = self.ctx.now
            self.replica.give_back(self, self.ctx.pool_max_idle)
        else:
            self.close()
        client.response_complete(ex)

    def _flush(self, client: ClientConnection) -> None:
        out = self._out
        if out:
            self._out = []
            client.send(out[0] if len(out) == 1 else b"".join(out))
