"""Limits and timeouts answer with clear JSON statuses: 431, 413, 408, 504, 400."""

from __future__ import annotations

import asyncio

from tests.balancer.fakes import BalancerFactory, FakeReplica
from tests.balancer.rawhttp import RawClient, build_request


async def test_header_section_too_large_is_431_and_nothing_is_forwarded(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1], max_header_bytes=1024)
    client = await RawClient.connect(balancer.port)
    try:
        response = await client.request("GET", "/", {"X-Big": "a" * 4000})
        assert await client.closed_by_peer()
    finally:
        await client.close()
    assert response.status == 431
    assert response.header("Content-Type") == "application/json"
    assert "header" in response.json()["error"]
    assert replicas[0].arrivals == []


async def test_one_endless_header_line_is_431_without_waiting_for_its_end(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1], max_header_bytes=1024)
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Long: ")
        for _ in range(4):
            await client.send(b"b" * 1000)
            await asyncio.sleep(0.01)
        response = await client.read_response()
    finally:
        await client.close()
    assert response.status == 431


async def test_declared_body_over_limit_is_413_before_any_byte_is_sent_upstream(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1], max_body_bytes=1000)
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n")
        response = await client.read_response()
    finally:
        await client.close()
    assert response.status == 413 and "1000" in response.json()["error"]
    assert replicas[0].arrivals == []


async def test_chunked_body_growing_over_limit_is_413(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1], max_body_bytes=1000)
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):
            await client.send(b"200\r\n" + b"z" * 512 + b"\r\n")
        response = await client.read_response()
    finally:
        await client.close()
    assert response.status == 413
    assert replicas[0].arrivals == []  # the replica never saw a complete request


async def test_client_idle_mid_request_gets_408(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1], client_timeout=0.3)
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        response = await client.read_response(timeout=5)
        assert await client.closed_by_peer()
    finally:
        await client.close()
    assert response.status == 408
    assert response.header("Content-Type") == "application/json"


async def test_client_idle_in_the_middle_of_the_head_gets_408(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1], client_timeout=0.3)
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(b"GET / HTTP/1.1\r\nHo")
        response = await client.read_response(timeout=5)
    finally:
        await client.close()
    assert response.status == 408


async def test_slow_replica_gives_504_json_naming_it(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1], upstream_timeout=0.3)
    client = await RawClient.connect(balancer.port)
    try:
        response = await client.request("GET", "/slow?s=1", timeout=5)
        after = await client.request("GET", "/")  # the client connection is still fine
    finally:
        await client.close()
    assert response.status == 504
    assert response.json() == {"error": "replica r1 timed out", "replica": "r1"}
    assert response.header("X-Replica") is None
    assert after.status == 200
    assert balancer.replicas.get("r1").errors == 1  # type: ignore[union-attr]


async def test_malformed_request_is_400_and_connection_closed(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1])
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(
            b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
        )
        response = await client.read_response()
        assert await client.closed_by_peer()
    finally:
        await client.close()
    assert response.status == 400
    assert replicas[0].arrivals == []


async def test_keepalive_connection_idle_too_long_is_closed(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1], keepalive_timeout=0.2)
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(build_request())
        assert (await client.read_response()).status == 200
        assert await client.closed_by_peer(timeout=3)
    finally:
        await client.close()
