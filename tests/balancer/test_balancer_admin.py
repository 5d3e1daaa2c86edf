"""The admin API: membership changes, drain, tokens, metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from lbdemo.balancer import Balancer
from tests.balancer.fakes import BalancerFactory, FakeReplica, start_replica
from tests.balancer.rawhttp import RawClient

TOKEN = "s3cret-token"


async def admin(
    balancer: Balancer, method: str, path: str, *, token: str | None = TOKEN, **kw: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{balancer.admin_url}{path}", headers=headers, **kw) as resp,
    ):
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.text()


async def served_by(balancer: Balancer, count: int) -> list[str | None]:
    client = await RawClient.connect(balancer.port)
    try:
        return [(await client.request("GET", "/")).header("X-Replica") for _ in range(count)]
    finally:
        await client.close()


@pytest.fixture
def with_admin() -> dict[str, Any]:
    return {"admin_host": "127.0.0.1", "admin_port": 0, "admin_token": TOKEN}


@pytest.mark.parametrize("token", [None, "wrong", ""])
async def test_admin_rejects_missing_or_wrong_token(
    replicas: list[FakeReplica],
    make_balancer: BalancerFactory,
    with_admin: dict[str, Any],
    token: str | None,
) -> None:
    balancer = await make_balancer(replicas, **with_admin)
    for method, path in (("GET", "/replicas"), ("POST", "/replicas/r1/drain"), ("GET", "/metrics")):
        status, body = await admin(balancer, method, path, token=token)
        assert status == 401
        assert "error" in body
    assert all(r.state == "up" for r in balancer.replicas)


async def test_list_shows_every_replica_with_counters(
    replicas: list[FakeReplica], make_balancer: BalancerFactory, with_admin: dict[str, Any]
) -> None:
    balancer = await make_balancer(replicas, **with_admin)
    await served_by(balancer, 4)
    status, listing = await admin(balancer, "GET", "/replicas")
    assert status == 200
    assert [(r["name"], r["state"], r["requests"]) for r in listing] == [
        ("r1", "up", 2),
        ("r2", "up", 1),
        ("r3", "up", 1),
    ]
    assert listing[0]["url"] == f"http://127.0.0.1:{replicas[0].port}"
    assert all(r["in_flight"] == 0 and r["errors"] == 0 for r in listing)


async def test_added_replica_joins_rotation_and_removed_one_leaves(
    replicas: list[FakeReplica], make_balancer: BalancerFactory, with_admin: dict[str, Any]
) -> None:
    balancer = await make_balancer(replicas[:2], **with_admin)
    r4 = await start_replica("r4")
    try:
        status, created = await admin(
            balancer, "POST", "/replicas", json={"name": "r4", "url": f"http://127.0.0.1:{r4.port}"}
        )
        assert status == 201 and created["name"] == "r4"
        assert sorted(await served_by(balancer, 3)) == ["r1", "r2", "r4"]  # type: ignore[type-var]
        status, _ = await admin(balancer, "DELETE", "/replicas/r1")
        assert status == 200
        assert set(await served_by(balancer, 4)) == {"r2", "r4"}
        status, listing = await admin(balancer, "GET", "/replicas")
        assert [r["name"] for r in listing] == ["r2", "r4"]
    finally:
        await r4.stop()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "r1", "url": "http://127.0.0.1:9"}, 409),
        ({"name": "bad name", "url": "http://127.0.0.1:9"}, 400),
        ({"name": "r9", "url": "ftp://127.0.0.1:9"}, 400),
        ({"name": "r9"}, 400),
        (["r9"], 400),
    ],
)
async def test_bad_or_duplicate_add_is_refused_and_changes_nothing(
    replicas: list[FakeReplica],
    make_balancer: BalancerFactory,
    with_admin: dict[str, Any],
    body: Any,
    status: int,
) -> None:
    balancer = await make_balancer(replicas, **with_admin)
    got, answer = await admin(balancer, "POST", "/replicas", json=body)
    assert got == status and "error" in answer
    assert [r.name for r in balancer.replicas] == ["r1", "r2", "r3"]


async def test_unknown_replica_is_404(
    replicas: list[FakeReplica], make_balancer: BalancerFactory, with_admin: dict[str, Any]
) -> None:
    balancer = await make_balancer(replicas, **with_admin)
    for method, path in (
        ("DELETE", "/replicas/nope"),
        ("GET", "/replicas/nope"),
        ("POST", "/replicas/nope/drain"),
    ):
        status, body = await admin(balancer, method, path)
        assert status == 404 and "nope" in body["error"]


async def test_drain_takes_replica_out_and_in_flight_finishes(
    replicas: list[FakeReplica], make_balancer: BalancerFactory, with_admin: dict[str, Any]
) -> None:
    balancer = await make_balancer(replicas, **with_admin)
    slow_client = await RawClient.connect(balancer.port)
    try:
        # The first request goes to r1 and stays in flight for a while.
        await slow_client.send(b"GET /slow?s=0.5 HTTP/1.1\r\nHost: t\r\n\r\n")
        await asyncio.sleep(0.1)
        status, answer = await admin(balancer, "POST", "/replicas/r1/drain")
        assert status == 202 and answer["state"] == "draining"
        status, shown = await admin(balancer, "GET", "/replicas/r1")
        assert shown["state"] == "draining" and shown["in_flight"] == 1
        assert "r1" not in await served_by(balancer, 4)
        status, waited = await admin(balancer, "POST", "/replicas/r1/drain?wait=1")
        assert status == 200 and waited["in_flight"] == 0 and waited["drained"] is True
        slow = await slow_client.read_response()
        assert slow.status == 200 and slow.header("X-Replica") == "r1"
    finally:
        await slow_client.close()
    status, _ = await admin(balancer, "POST", "/replicas/r1/undrain")
    assert status == 200
    assert "r1" in await served_by(balancer, 3)


async def test_metrics_count_requests_by_replica_and_code(
    replicas: list[FakeReplica], make_balancer: BalancerFactory, with_admin: dict[str, Any]
) -> None:
    balancer = await make_balancer(replicas, **with_admin)
    await served_by(balancer, 7)
    status, text = await admin(balancer, "GET", "/metrics")
    assert status == 200
    lines = set(text.splitlines())
    assert 'lbdemo_balancer_requests_total{code="200",replica="r1"} 3.0' in lines
    assert 'lbdemo_balancer_requests_total{code="200",replica="r2"} 2.0' in lines
    assert 'lbdemo_balancer_requests_total{code="200",replica="r3"} 2.0' in lines
    assert "lbdemo_balancer_request_duration_seconds_count 7.0" in lines
    assert 'lbdemo_balancer_replica_up{replica="r1"} 1.0' in lines
    assert 'lbdemo_balancer_in_flight_requests{replica="r2"} 0.0' in lines
