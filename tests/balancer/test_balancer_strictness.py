"""Issue 21 item 10: what h11 refuses, the balancer refuses or reads as h11 does.

``Proxy-Connection`` is no ``Connection`` (llhttp read ``Proxy-Connection: close`` as one, h11
ignores it), a request line has single spaces, and a chunk size has fewer than 20 digits (h11
takes 1 to 20; leading zeros were how longer ones got past llhttp's overflow check). Each case
is fed to a real ``ClientConnection`` whole and cut at every place, as ``framing.py`` does.
"""

from __future__ import annotations

import pytest

from tests.balancer.framing import balancer_reading, h11_reading

NEXT = b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n"


def _cuts(data: bytes) -> list[tuple[int, ...]]:
    """No cut, every single cut, and a read per byte."""
    return [(), *((i,) for i in range(1, len(data))), tuple(range(1, len(data)))]


@pytest.mark.parametrize(
    "line",
    [b"GET  / HTTP/1.1", b"GET /  HTTP/1.1", b"POST  /p HTTP/1.1", b"GET   / HTTP/1.0"],
)
def test_a_double_space_in_the_request_line_is_refused(line: bytes) -> None:
    data = line + b"\r\nHost: a\r\nContent-Length: 0\r\n\r\n" + NEXT
    assert h11_reading(data).end == "error"
    for cuts in _cuts(data):
        reading = balancer_reading(data, cuts)
        assert (reading.end, reading.status, reading.requests) == ("error", 400, []), cuts


def test_a_double_space_in_a_pipelined_request_line_is_refused() -> None:
    data = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET  /b HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT
    for cuts in _cuts(data):
        reading = balancer_reading(data, cuts)
        assert [r.target for r in reading.requests] == [b"/a"], cuts
        assert (reading.end, reading.status) == ("error", 400), cuts


@pytest.mark.parametrize("value", [b"close", b"keep-alive", b"Close, foo"])
def test_proxy_connection_is_not_connection(value: bytes) -> None:
    data = b"GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: " + value + b"\r\n\r\n" + NEXT
    assert [r.target for r in h11_reading(data).requests] == [b"/", b"/next"]
    for cuts in _cuts(data):
        reading = balancer_reading(data, cuts)
        assert [r.target for r in reading.requests] == [b"/", b"/next"], cuts
        assert reading.end == "ok", cuts


def test_proxy_connection_does_not_keep_an_http10_connection_open() -> None:
    """HTTP/1.0 closes after the request unless *Connection* says keep-alive."""
    data = b"GET / HTTP/1.0\r\nHost: a\r\nProxy-Connection: keep-alive\r\n\r\n" + NEXT
    for cuts in _cuts(data):
        reading = balancer_reading(data, cuts)
        assert [r.target for r in reading.requests] == [b"/"], cuts


def _chunked(*lines: bytes) -> bytes:
    head = b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + b"".join(lines) + NEXT


@pytest.mark.parametrize(
    "size_line", [b"0" * 15 + b"00005", b"0" * 30 + b"5", b"0" * 19 + b"5;ext=1", b"0" * 40 + b"5"]
)
def test_a_chunk_size_of_20_digits_or_more_is_refused(size_line: bytes) -> None:
    data = _chunked(b"3\r\nabc\r\n", size_line + b"\r\nhello\r\n0\r\n\r\n")
    for cuts in _cuts(data):
        reading = balancer_reading(data, cuts)
        assert (reading.end, reading.status) == ("error", 400), cuts
        assert reading.requests == [], cuts


def test_chunk_sizes_below_20_digits_and_hex_looking_data_pass() -> None:
    """Leading zeros up to 19 digits are fine; chunk *data* is never read as a size line."""
    data_line = b"\n" + b"f" * 40 + b"\r\n"
    size = b"%x" % len(data_line)
    data = _chunked(
        b"0" * 18 + b"5\r\nhello\r\n",
        size + b"\r\n" + data_line + b"\r\n",
        b"0\r\nX-Trailer: " + b"1" * 30 + b"\r\n\r\n",
    )
    expected = [(b"/c", b"hello" + data_line), (b"/next", b"")]
    assert [(r.target, r.body) for r in h11_reading(data).requests] == expected
    for cuts in _cuts(data):
        reading = balancer_reading(data, cuts)
        assert [(r.target, r.body) for r in reading.requests] == expected, cuts
        assert reading.end == "ok", cuts
