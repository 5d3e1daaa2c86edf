"""The raw fast path end to end: plain heads pass byte for byte, everything else as before.

The replica here is a raw socket server, so a test decides exactly which bytes it answers and
how they are split across writes, and can count the connections the balancer opened.
"""

from __future__ import annotations

import asyncio

from fakes import BalancerFactory, StartRaw
from rawhttp import RawClient, build_request

BODY = b"hello\n"
PLAIN = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Replica: raw\r\n"
    b"Content-Length: 6\r\nX-Note: passed as is\r\n\r\n" + BODY
)


async def _read_until_closed(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), 5)


async def test_plain_response_reaches_the_client_byte_for_byte(
    raw_replica: StartRaw, make_balancer: BalancerFactory
) -> None:
    replica = await raw_replica(lambda head: [PLAIN])
    balancer = await make_balancer((replica.upstream,))
    reader, writer = await asyncio.open_connection("127.0.0.1", balancer.port)
    try:
        writer.write(b"GET /a HTTP/1.1\r\nHost: test\r\n\r\n")
        first = await asyncio.wait_for(reader.readexactly(len(PLAIN)), 5)
        writer.write(b"GET /a HTTP/1.1\r\nHost: test\r\n\r\n")
        second = await asyncio.wait_for(reader.readexactly(len(PLAIN)), 5)
    finally:
        writer.close()
    assert first == second == PLAIN
    assert replica.connections == 1  # kept alive and reused
    for head in replica.heads:  # the repeated request is rewritten every time, not once
        assert head.startswith(b"GET /a HTTP/1.1\r\nHost: test\r\n")
        assert b"\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n" in head


async def test_request_without_host_gets_the_replica_address_as_host(
    raw_replica: StartRaw, make_balancer: BalancerFactory
) -> None:
    replica = await raw_replica(lambda head: [PLAIN])
    balancer = await make_balancer((replica.upstream,))
    reader, writer = await asyncio.open_connection("127.0.0.1", balancer.port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n")
        await asyncio.wait_for(reader.readexactly(len(PLAIN)), 5)
    finally:
        writer.close()
    assert f"\r\nHost: 127.0.0.1:{replica.port}\r\n".encode() in replica.heads[0]


async def test_body_arriving_in_later_reads_is_streamed_and_the_connection_reused(
    raw_replica: StartRaw, make_balancer: BalancerFactory
) -> None:
    body = b"x" * 100_000
    head = b"HTTP/1.1 200 OK\r\nX-Replica: raw\r\nContent-Length: 100000\r\n\r\n"
    replica = await raw_replica(lambda h: [head + body[:10], body[10:50_000], body[50_000:]])
    balancer = await make_balancer((replica.upstream,))
    client = await RawClient.connect(balancer.port)
    try:
        first = await client.request("GET", "/big")
        second = await client.request("GET", "/big")
    finally:
        await client.close()
    assert first.status == second.status == 200
    assert first.body == second.body == body
    assert replica.connections == 1


async def test_bytes_beyond_the_declared_length_are_dropped_with_the_connection(
    raw_replica: StartRaw, make_balancer: BalancerFactory
) -> None:
    head = b"HTTP/1.1 200 OK\r\nX-Replica: raw\r\nContent-Length: 6\r\n\r\n"
    replica = await raw_replica(lambda h: [head + b"hel", b"lo\nGARBAGE"])
    balancer = await make_balancer((replica.upstream,))
    client = await RawClient.connect(balancer.port)
    try:
        first = await client.request("GET", "/")
        second = await client.request("GET", "/")
    finally:
        await client.close()
    assert first.body == second.body == BODY
    assert replica.connections == 2  # the connection that over-sent was not reused


async def test_replica_closing_mid_body_truncates_the_client_connection(
    raw_replica: StartRaw, make_balancer: BalancerFactory
) -> None:
    head = b"HTTP/1.1 200 OK\r\nX-Replica: raw\r\nContent-Length: 100\r\n\r\n"
    replica = await raw_replica(lambda h: [head + b"partial", b"<close>"])
    balancer = await make_balancer((replica.upstream,))
    reader, writer = await asyncio.open_connection("127.0.0.1", balancer.port)
    try:
        writer.write(build_request("GET", "/"))
        data = await _read_until_closed(reader)
    finally:
        writer.close()
    # The client sees a response that stops short and a closed connection, never a 502
    # glued onto a response that had begun.
    assert data == head + b"partial"


async def test_client_asking_to_close_gets_connection_close_on_a_plain_response(
    raw_replica: StartRaw, make_balancer: BalancerFactory
) -> None:
    replica = await raw_replica(lambda head: [PLAIN])
    balancer = await make_balancer((replica.upstream,))
    reader, writer = await asyncio.open_connection("127.0.0.1", balancer.port)
    try:
        writer.write(build_request("GET", "/", {"Connection": "close"}))
        data = await _read_until_closed(reader)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert head.endswith(b"\r\nConnection: close")
    assert body == BODY


async def test_http10_keep_alive_client_is_told_the_connection_stays_open(
    raw_replica: StartRaw, make_balancer: BalancerFactory
) -> None:
    replica = await raw_replica(lambda head: [PLAIN])
    balancer = await make_balancer((replica.upstream,))
    reader, writer = await asyncio.open_connection("127.0.0.1", balancer.port)
    try:
        writer.write(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        body = await asyncio.wait_for(reader.readexactly(6), 5)
    finally:
        writer.close()
    assert b"\r\nConnection: keep-alive\r\n" in head
    assert body == BODY


async def test_head_request_answer_is_not_waited_on_for_a_body(
    raw_replica: StartRaw, make_balancer: BalancerFactory
) -> None:
    replica = await raw_replica(
        lambda head: [PLAIN[: -len(BODY)]] if head[:4] == b"HEAD" else [PLAIN]
    )
    balancer = await make_balancer((replica.upstream,))
    client = await RawClient.connect(balancer.port)
    try:
        head = await client.request("HEAD", "/", timeout=5)
        after = await client.request("GET", "/", timeout=5)
    finally:
        await client.close()
    assert head.status == 200 and head.header("Content-Length") == "6"
    assert after.body == BODY
    assert replica.connections == 1


async def test_hop_by_hop_response_headers_still_go_through_the_parser(
    raw_replica: StartRaw, make_balancer: BalancerFactory
) -> None:
    hop = b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nX-Replica: raw\r\nContent-Length: 6\r\n\r\n"
    replica = await raw_replica(lambda head: [hop + BODY])
    balancer = await make_balancer((replica.upstream,))
    client = await RawClient.connect(balancer.port)
    try:
        response = await client.request("GET", "/")
    finally:
        await client.close()
    assert response.body == BODY
    assert response.header("Keep-Alive") is None
    assert response.header("X-Replica") == "raw"
