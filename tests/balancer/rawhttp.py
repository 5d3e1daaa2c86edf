"""A tiny HTTP/1.1 client over one raw socket, so tests control exactly what goes on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import httptools


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunked: bool = False

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


class _Collector:
    def __init__(self, head_only: bool) -> None:
        self.done: list[Response] = []
        self.current: Response | None = None
        self.parts: list[bytes] = []
        self.head_only = head_only
        self.parser = httptools.HttpResponseParser(self)

    def on_message_begin(self) -> None:
        self.current = Response(status=0)
        self.parts = []

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.current is not None
        self.current.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        assert self.current is not None
        self.current.status = self.parser.get_status_code()
        te = self.current.header("transfer-encoding") or ""
        self.current.chunked = "chunked" in te.lower()
        if self.head_only:
            self.done.append(self.current)

    def on_body(self, body: bytes) -> None:
        self.parts.append(body)

    def on_message_complete(self) -> None:
        assert self.current is not None
        if not self.head_only:
            self.current.body = b"".join(self.parts)
            self.done.append(self.current)


class RawClient:
    """One client connection; ``request()`` sends a request and reads one response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._buffer = b""

    @classmethod
    async def connect(cls, port: int, source: str | None = None) -> RawClient:
        """Connect to 127.0.0.1:``port``, from ``source`` (another loopback address) if given."""
        local = (source, 0) if source else None
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=local)
        return cls(reader, writer)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 2)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_responses(
        self, count: int = 1, *, head_only: bool = False, timeout: float = 10.0
    ) -> list[Response]:
        collector = _Collector(head_only)
        if self._buffer:
            collector.parser.feed_data(self._buffer)
            self._buffer = b""
        async with asyncio.timeout(timeout):
            while len(collector.done) < count:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError(f"closed after {len(collector.done)} responses")
                collector.parser.feed_data(data)
        return collector.done

    async def read_response(self, *, head_only: bool = False, timeout: float = 10.0) -> Response:
        return (await self.read_responses(1, head_only=head_only, timeout=timeout))[0]

    async def request(
        self,
        method: str = "GET",
        path: str = "/",
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        timeout: float = 10.0,
    ) -> Response:
        await self.send(build_request(method, path, headers, body))
        return await self.read_response(head_only=method == "HEAD", timeout=timeout)

    async def closed_by_peer(self, timeout: float = 5.0) -> bool:
        """True when the server closes the connection within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return True


def build_request(
    method: str = "GET", path: str = "/", headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test"]
    given = {k.lower() for k in (headers or {})}
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body and "content-length" not in given and "transfer-encoding" not in given:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
