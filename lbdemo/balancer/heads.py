"""Fast scans of whole message heads, so the common case skips the per-header parser callbacks.

The data path's general parser (httptools) calls back into Python once per header; for the
common exchange (a small GET whose whole head arrives in one read, answered by a response with
a ``Content-Length`` and no hop-by-hop header) that is most of the balancer's own CPU time.
These functions look at a whole head with a few compiled regular expressions (C speed) and say
whether it may be forwarded as raw bytes. They accept a strict subset of HTTP/1.1; anything
else (or anything unusual) answers ``None`` and the caller falls back to the full parser, which
has not seen the bytes yet, so nothing is lost by declining.
"""

from __future__ import annotations

import re

from lbdemo.balancer.http import NO_BODY_STATUS

# RFC 9110 §5.6.2 token characters; field values as llhttp accepts them (no CR, LF, NUL, DEL).
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_VALUE = rb"[\t\x20-\x7e\x80-\xff]*"
_FIELDS = rb"(?:" + _TOKEN + rb":" + _VALUE + rb"\r\n)*\r\n"

# Only methods whose message has no body unless a length says so; CONNECT and friends are
# special cases of the full parser.
_REQUEST = re.compile(rb"(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) [!-~]+ HTTP/1\.1\r\n" + _FIELDS)
# Headers that make a request more than "forward as is, plus X-Forwarded-*": hop-by-hop ones,
# framing, the forwarded headers we rewrite, Expect.
_REQUEST_SPECIAL = re.compile(
    rb"\r\n(?:connection|keep-alive|proxy-[^:\r\n]*|te|trailer|transfer-encoding|upgrade"
    rb"|content-length|x-forwarded-for|x-forwarded-proto|expect):"
)

_RESPONSE = re.compile(rb"HTTP/1\.1 ([2-5][0-9][0-9]) " + _VALUE + rb"\r\n" + _FIELDS)
_RESPONSE_SPECIAL = re.compile(
    rb"\r\n(?:connection|keep-alive|proxy-[^:\r\n]*|te|trailer|transfer-encoding|upgrade):"
)
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]{1,18})[ \t]*\r\n")


def scan_request(data: bytes) -> tuple[bytes, bool] | None:
    """``(method, has_host)`` when ``data`` is exactly one plain body-less request head.

    Plain means: HTTP/1.1, keep-alive by default, no hop-by-hop, framing or X-Forwarded-*
    header, nothing after the head. The head then goes upstream as it came, with the
    X-Forwarded-* lines added.
    """
    match = _REQUEST.fullmatch(data)
    if match is None:
        return None
    lowered = data.lower()
    if _REQUEST_SPECIAL.search(lowered) is not None:
        return None
    hosts = lowered.count(b"\r\nhost:")
    if hosts > 1:
        return None  # the parser path refuses it
    return match.group(1), hosts == 1


def scan_response(data: bytes) -> tuple[int, int, int] | None:
    """``(status, head_length, body_length)`` when ``data`` starts a plain final response.

    Plain means: HTTP/1.1, a final status with a body (not 1xx, 204, 304), exactly one
    ``Content-Length``, no hop-by-hop header. Such a response may be passed on byte for byte.
    The caller still decides on the request's method (a HEAD answer has no body).
    """
    match = _RESPONSE.match(data)
    if match is None:
        return None
    status = int(match.group(1))
    if status in NO_BODY_STATUS:
        return None
    head_length = match.end()
    lowered = data[:head_length].lower()
    if _RESPONSE_SPECIAL.search(lowered) is not None:
        return None
    lengths = _CONTENT_LENGTH.findall(lowered)
    if len(lengths) != 1 or lowered.count(b"\r\ncontent-length:") != 1:
        return None
    return status, head_length, int(lengths[0])


class ResponseScanner:
    """:func:`scan_response` with a memo of the last plain head it accepted.

    A replica's response heads repeat byte for byte (until its ``Date`` header ticks or a
    length changes), and the same bytes always get the same verdict; ``startswith`` of the
    remembered head is a memory compare, a tenth of a scan.
    """

    __slots__ = ("_head", "_result")

    def __init__(self) -> None:
        self._head = b"\0"  # matches no response
        self._result: tuple[int, int, int] = (0, 0, 0)

    def scan(self, data: bytes) -> tuple[int, int, int] | None:
        # The remembered head ends at its first empty line, so data starting with it has
        # exactly that head too.
        if data.startswith(self._head):
            return self._result
        result = scan_response(data)
        if result is not None:
            self._head = data[: result[1]]
            self._result = result
        return result
