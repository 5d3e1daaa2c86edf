"""HTTP/1.1 facts the data path needs: hop-by-hop header names, the balancer's own replies."""

from __future__ import annotations

import json
from http import HTTPStatus

# RFC 9110 §7.6.1: meaningful for one connection only, never forwarded. "proxy-*" is handled
# by prefix. Content-Length is not here: it is end-to-end, but it is dropped when we re-chunk.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

IDEMPOTENT_RETRYABLE = frozenset({b"GET", b"HEAD", b"OPTIONS"})

# Final statuses whose responses never have a body (RFC 9112 §6.3).
NO_BODY_STATUS = frozenset({204, 304})

_REASONS = {s.value: s.phrase.encode("latin-1") for s in HTTPStatus}


def reason(status: int) -> bytes:
    return _REASONS.get(status, b"Unknown")


# Headers a ``Connection`` nomination may never remove: the framing of the message and its
# Host. Honouring ``Connection: content-length`` would forward a body without its length, and
# the replica would read that body as a request of its own (request smuggling). Such
# nominations are ignored; the balancer frames every message it forwards itself.
NEVER_NOMINATED = frozenset({b"content-length", b"transfer-encoding", b"host"})


def connection_tokens(value: bytes) -> set[bytes]:
    """The lower-cased header names a ``Connection`` value nominates, minus NEVER_NOMINATED."""
    tokens = {t.strip().lower() for t in value.split(b",")}
    tokens.discard(b"")
    return tokens - NEVER_NOMINATED


def drop_nominated(headers: list[bytes], tokens: set[bytes]) -> list[bytes]:
    """Headers (as flat name, ': ', value, CRLF quads) minus those a Connection header named."""
    kept: list[bytes] = []
    for i in range(0, len(headers), 4):
        if headers[i].lower() not in tokens:
            kept += headers[i : i + 4]
    return kept


def error_response(status: int, message: str, replica: str | None, *, close: bool) -> bytes:
    """A complete response the balancer itself sends: JSON body, no ``X-Replica``."""
    body = json.dumps({"error": message, "replica": replica}).encode()
    head = [
        b"HTTP/1.1 %d %s\r\n" % (status, reason(status)),
        b"Content-Type: application/json\r\n",
        b"Content-Length: %d\r\n" % len(body),
    ]
    if close:
        head.append(b"Connection: close\r\n")
    head.append(b"\r\n")
    return b"".join(head) + body


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (never call with empty data: that is the terminator)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
