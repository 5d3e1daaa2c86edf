"""The fast scans: which heads may be forwarded raw, and which must go to the full parser."""

from __future__ import annotations

import pytest

from lbdemo.balancer.heads import ResponseScanner, scan_request, scan_response

PLAIN_REQUEST = b"GET /a?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: */*\r\n\r\n"
PLAIN_RESPONSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Replica: r1\r\n"
    b"Content-Length: 6\r\nDate: Fri, 27 Nov 2026 18:43:39 GMT\r\n\r\n"
)


def test_plain_request_head_is_accepted_with_its_method_and_host() -> None:
    assert scan_request(PLAIN_REQUEST) == (b"GET", True)
    assert scan_request(b"DELETE /x HTTP/1.1\r\nAccept: */*\r\n\r\n") == (b"DELETE", False)


@pytest.mark.parametrize(
    "header",
    [
        b"Connection: close",
        b"Keep-Alive: timeout=5",
        b"Proxy-Authorization: Basic abc",
        b"TE: trailers",
        b"Trailer: X-T",
        b"Transfer-Encoding: chunked",
        b"Upgrade: websocket",
        b"Content-Length: 0",
        b"content-length: 0",
        b"X-Forwarded-For: 10.0.0.1",
        b"X-Forwarded-Proto: https",
        b"Expect: 100-continue",
    ],
)
def test_request_with_a_header_that_needs_rewriting_goes_to_the_parser(header: bytes) -> None:
    data = b"GET / HTTP/1.1\r\nHost: h\r\n" + header + b"\r\n\r\n"
    assert scan_request(data) is None


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.0\r\nHost: h\r\n\r\n",  # HTTP/1.0: keep-alive rules differ
        b"get / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",  # space before the colon
        b"GET / HTTP/1.1\nHost: h\r\n\r\n",  # bare LF
        b"GET / HTTP/1.1\r\nHost: h\x00\r\n\r\n",
        b"GET / HTTP/1.1\r\n Host: h\r\n\r\n",  # obsolete line folding
        b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\n\r\n",  # two heads in one read
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\nbody",  # bytes after the head
        b"GET / HTTP/1.1\r\nHost: h\r\n",  # head not complete yet
    ],
)
def test_unusual_or_malformed_request_heads_are_declined(data: bytes) -> None:
    assert scan_request(data) is None


def test_plain_response_gives_status_head_and_body_length() -> None:
    data = PLAIN_RESPONSE_HEAD + b"hello\n"
    assert scan_response(data) == (200, len(PLAIN_RESPONSE_HEAD), 6)
    # Only the head needs to be there: the body may follow in later reads.
    assert scan_response(PLAIN_RESPONSE_HEAD) == (200, len(PLAIN_RESPONSE_HEAD), 6)


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nbody until close",  # no length
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
        b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",  # head not complete yet
        b"garbage\r\n\r\n",
    ],
)
def test_responses_that_need_the_parser_are_declined(data: bytes) -> None:
    assert scan_response(data) is None


def test_response_scanner_remembers_a_plain_head_and_rescans_a_changed_one() -> None:
    scanner = ResponseScanner()
    expected = (200, len(PLAIN_RESPONSE_HEAD), 6)
    assert scanner.scan(PLAIN_RESPONSE_HEAD + b"hello\n") == expected
    assert scanner.scan(PLAIN_RESPONSE_HEAD + b"world\n") == expected
    # One byte of the head changed (the Date ticked): scanned again, and still right.
    ticked = PLAIN_RESPONSE_HEAD.replace(b"39 GMT", b"40 GMT")
    assert scanner.scan(ticked + b"hello\n") == expected
    # A head that is no longer plain is never answered from the memory.
    chunked = ticked.replace(b"Content-Length: 6", b"Transfer-Encoding: chunked")
    assert scanner.scan(chunked + b"6\r\nhello\n\r\n0\r\n\r\n") is None
    assert scanner.scan(b"HTTP/1.1 500 Internal Server Error\r\nX: 1\r\n\r\n") is None
