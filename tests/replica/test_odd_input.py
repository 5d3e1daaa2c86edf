"""Defects 10 and 11: odd input gets a JSON refusal with X-Replica, never a 500 or plain text.

10: a 5,000-digit price and 30,000-deep nesting used to be a 500 (with a traceback in the log).
11: a request head aiohttp's parser refuses itself (an 8-16 KiB header, a bad request line) got
aiohttp's plain-text 400 with no X-Replica, which a middleware never sees.
"""

from __future__ import annotations

import json
import logging

import pytest
from aiohttp import ClientSession

from tests.replica.rawclient import raw_exchange

ODD_BODIES = [
    pytest.param(b'{"price": ' + b"9" * 5000 + b', "write_id": "w"}', 422, id="5000-digit-price"),
    pytest.param(b'{"price": -' + b"9" * 5000 + b', "write_id": "w"}', 422, id="5000-digit-neg"),
    pytest.param(
        b'{"price": 1, "write_id": "w", "x": ' + b"1" * 5000 + b"}",
        400,
        id="5000-digit-unknown-field",
    ),
    pytest.param(b"[" * 30_000 + b"]" * 30_000, 400, id="30000-deep-list"),
    pytest.param(b'{"":' * 10_000 + b"1" + b"}" * 10_000, 400, id="10000-deep-object"),
    pytest.param(b'{"price": 1e999999, "write_id": "w"}', 422, id="infinite-price"),
    pytest.param(b'{"price": NaN, "write_id": "w"}', 422, id="nan-price"),
    pytest.param(b'{"price": 1, "write_id": "\\ud800"}', 400, id="lone-surrogate"),
]


@pytest.mark.parametrize(("body", "status"), ODD_BODIES)
async def test_odd_json_is_refused_in_json_and_changes_nothing(
    served_replica: str, body: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{served_replica}/products/odd"
    async with ClientSession() as http:
        async with http.put(url, json={"price": 10, "write_id": "orig"}) as r:
            assert r.status == 200
        with caplog.at_level(logging.ERROR):
            async with http.put(url, data=body, headers={"Content-Type": "application/json"}) as r:
                assert r.status == status, await r.text()
                assert r.headers["X-Replica"] == "r1"
                assert (await r.json())["status"] == status
        async with http.get(url) as r:
            after = await r.json()
    assert (after["price"], after["write_id"], after["version"]) == (10, "orig", 1)
    assert not [rec for rec in caplog.records if rec.exc_info], "no traceback in the log"


@pytest.mark.parametrize("size", [8 * 1024, 12 * 1024, 16 * 1024, 100 * 1024])
async def test_a_header_too_large_for_the_parser_is_431_json_with_x_replica(
    served_replica: str, size: int
) -> None:
    async with (
        ClientSession() as http,
        http.get(f"{served_replica}/products/x", headers={"X-Big": "a" * size}) as r,
    ):
        assert r.status == 431
        assert r.headers["X-Replica"] == "r1"
        assert r.content_type == "application/json"
        assert (await r.json())["status"] == 431


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GARBAGE\r\n\r\n", id="no-method-path-version"),
        pytest.param(b"GET /products/x HTTP/9.9\r\nHost: a\r\n\r\n", id="bad-version"),
        pytest.param(b"GET /products/x HTTP/1.1\r\nBad Header\r\n\r\n", id="header-no-colon"),
        pytest.param(
            b"PUT /products/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
            b"Content-Length: 6\r\n\r\nhello!",
            id="two-content-lengths",
        ),
        pytest.param(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", id="long-target"),
        pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", id="tls-hello"),
    ],
)
async def test_a_request_the_parser_refuses_gets_json_with_x_replica(
    served_replica: str, request_bytes: bytes
) -> None:
    answer = await raw_exchange(served_replica, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    assert 400 <= status < 500, status_line
    assert headers["x-replica"] == "r1"
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["status"] == status
