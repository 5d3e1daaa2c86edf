"""The data path: per-request round robin, header rewriting, failures turned into JSON answers."""

from __future__ import annotations

import asyncio

from lbdemo.balancer import Upstream
from tests.balancer.fakes import BalancerFactory, FakeReplica
from tests.balancer.rawhttp import RawClient, build_request


async def test_round_robin_is_per_request_not_per_connection(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas)
    client = await RawClient.connect(balancer.port)
    try:
        served = [(await client.request("GET", f"/{i}")).header("X-Replica") for i in range(6)]
    finally:
        await client.close()
    assert served == ["r1", "r2", "r3", "r1", "r2", "r3"]


async def test_forwarded_headers_are_added_and_client_chain_kept(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1])
    client = await RawClient.connect(balancer.port)
    try:
        plain = (await client.request("GET", "/a?x=1")).json()
        chained = (
            await client.request(
                "GET", "/b", {"X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https"}
            )
        ).json()
    finally:
        await client.close()
    assert plain["path"] == "/a?x=1"
    assert plain["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert plain["headers"]["X-Forwarded-Proto"] == "http"
    assert plain["headers"]["Host"] == "test"
    assert chained["headers"]["X-Forwarded-For"] == "10.1.2.3, 127.0.0.1"
    assert chained["headers"]["X-Forwarded-Proto"] == "http"


async def test_hop_by_hop_headers_are_dropped_both_ways(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1])
    client = await RawClient.connect(balancer.port)
    try:
        response = await client.request(
            "GET",
            "/",
            {
                "Connection": "keep-alive, X-Secret",
                "X-Secret": "hop",
                "Keep-Alive": "timeout=5",
                "Proxy-Authorization": "Basic abc",
                "TE": "trailers",
                "Trailer": "X-T",
                "Upgrade-Insecure-Requests": "1",
                "X-End-To-End": "kept",
            },
        )
    finally:
        await client.close()
    seen = {k.lower() for k in response.json()["headers"]}
    assert {"x-secret", "keep-alive", "proxy-authorization", "te", "trailer"}.isdisjoint(seen)
    assert "x-end-to-end" in seen and "upgrade-insecure-requests" in seen
    # The replica sent "Connection: X-Hop", "X-Hop" and "Keep-Alive"; none reaches the client.
    names = {k.lower() for k, _ in response.headers}
    assert {"x-hop", "keep-alive"}.isdisjoint(names)
    assert response.header("X-Replica") == "r1"


async def test_a_closed_replica_gives_502_json_on_its_turns_and_others_answer(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    # Without retries or ejection, every turn of the dead replica is visible as a 502.
    balancer = await make_balancer(replicas, retry_idempotent=False, passive_ejection=False)
    await replicas[1].stop()
    client = await RawClient.connect(balancer.port)
    try:
        responses = [await client.request("GET", f"/{i}") for i in range(6)]
    finally:
        await client.close()
    assert [r.status for r in responses] == [200, 502, 200, 200, 502, 200]
    for failed in (responses[1], responses[4]):
        assert failed.header("Content-Type") == "application/json"
        assert failed.header("X-Replica") is None
        assert failed.json()["replica"] == "r2"
        assert "error" in failed.json()
    assert [r.header("X-Replica") for r in responses if r.status == 200] == ["r1", "r3"] * 2


async def test_get_is_retried_on_the_next_replica_when_connect_fails(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas)
    await replicas[0].stop()
    client = await RawClient.connect(balancer.port)
    try:
        responses = [await client.request("GET", f"/{i}") for i in range(6)]
    finally:
        await client.close()
    assert all(r.status == 200 for r in responses)
    assert {r.header("X-Replica") for r in responses} == {"r2", "r3"}
    assert balancer.replicas.get("r1").state == "down"  # type: ignore[union-attr]


async def test_no_healthy_replica_gives_503_json(make_balancer: BalancerFactory) -> None:
    balancer = await make_balancer([])
    client = await RawClient.connect(balancer.port)
    try:
        response = await client.request("GET", "/")
        again = await client.request("GET", "/")  # the connection stays usable
    finally:
        await client.close()
    assert response.status == 503 and again.status == 503
    assert response.header("Content-Type") == "application/json"
    assert response.header("X-Replica") is None
    assert response.json() == {"error": "no healthy replica", "replica": None}


async def test_all_replicas_refusing_gives_502_and_balancer_keeps_serving(
    make_balancer: BalancerFactory,
) -> None:
    # Ports that were just free: nothing listens there.
    dead = []
    for name in ("d1", "d2"):
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        dead.append(Upstream(name, "127.0.0.1", server.sockets[0].getsockname()[1]))
        server.close()
        await server.wait_closed()
    balancer = await make_balancer(tuple(dead), passive_ejection=False)
    client = await RawClient.connect(balancer.port)
    try:
        first = await client.request("GET", "/")
        second = await client.request("POST", "/", body=b"{}")
    finally:
        await client.close()
    assert first.status == 502 and second.status == 502
    assert first.json()["replica"] in {"d1", "d2"}


async def test_head_response_has_no_body_and_connection_stays_usable(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1])
    client = await RawClient.connect(balancer.port)
    try:
        head = await client.request("HEAD", "/x")
        after = await client.request("GET", "/y")
    finally:
        await client.close()
    assert head.status == 200 and head.body == b""
    assert after.status == 200 and after.json()["path"] == "/y"


async def test_connection_close_from_client_is_honoured(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1])
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(build_request("GET", "/", {"Connection": "close"}))
        response = await client.read_response()
        assert response.status == 200
        assert response.header("Connection") == "close"
        assert await client.closed_by_peer()
    finally:
        await client.close()


async def test_http10_client_gets_a_length_delimited_answer(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1])
    reader, writer = await asyncio.open_connection("127.0.0.1", balancer.port)
    try:
        writer.write(b"GET /old HTTP/1.0\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"chunked" not in head.lower()
    assert b'"path": "/old"' in body
