"""Exact round robin under concurrency, no replayed writes, drains without failures, health."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from lbdemo.balancer.config import Upstream
from lbdemo.balancer.health import record
from lbdemo.balancer.pool import Replica
from tests.balancer.fakes import BalancerFactory, FakeReplica
from tests.balancer.rawhttp import RawClient


async def _client_run(port: int, count: int, path: str = "/") -> list[tuple[int, str | None]]:
    client = await RawClient.connect(port)
    try:
        out = []
        for _ in range(count):
            response = await client.request("GET", path)
            out.append((response.status, response.header("X-Replica")))
        return out
    finally:
        await client.close()


async def test_round_robin_counts_are_exactly_equal_under_concurrency(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas)
    clients, per_client = 12, 25  # 300 requests: 100 per replica, no more, no less
    results = await asyncio.gather(
        *(_client_run(balancer.port, per_client) for _ in range(clients))
    )
    flat = [item for result in results for item in result]
    assert all(status == 200 for status, _ in flat)
    assert Counter(name for _, name in flat) == {"r1": 100, "r2": 100, "r3": 100}
    assert balancer.metrics.requests == {("r1", 200): 100, ("r2", 200): 100, ("r3", 200): 100}
    assert [r.requests for r in balancer.replicas] == [100, 100, 100]
    assert all(r.in_flight == 0 for r in balancer.replicas)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_write_whose_replica_drops_after_reading_is_502_and_never_replayed(
    replicas: list[FakeReplica], make_balancer: BalancerFactory, method: str
) -> None:
    balancer = await make_balancer(replicas)
    client = await RawClient.connect(balancer.port)
    try:
        await client.request("GET", "/warm")  # r1; the next request goes to r2
        response = await client.request(method, "/drop", body=b'{"x": 1}')
    finally:
        await client.close()
    assert response.status == 502
    assert response.json()["replica"] == "r2"
    arrivals = [a for r in replicas for a in r.arrivals if a[1] == "/drop"]
    assert arrivals == [(method, "/drop")]  # exactly one replica saw it, once


async def test_draining_under_load_fails_no_request(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas)
    stop = asyncio.Event()
    results: list[tuple[int, str | None]] = []

    async def load() -> None:
        client = await RawClient.connect(balancer.port)
        try:
            while not stop.is_set():
                response = await client.request("GET", "/slow?s=0.01")
                results.append((response.status, response.header("X-Replica")))
        finally:
            await client.close()

    tasks = [asyncio.create_task(load()) for _ in range(6)]
    try:
        await asyncio.sleep(0.2)
        r2 = balancer.replicas.get("r2")
        assert r2 is not None and r2.requests > 0
        assert await balancer.remove_replica(r2)
        mark = len(results)
        await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert results and all(status == 200 for status, _ in results)
    assert "r2" not in {name for _, name in results[mark + 6 :]}
    assert [r.name for r in balancer.replicas] == ["r1", "r3"]


async def test_active_health_checks_take_a_sick_replica_out_and_back(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas, health_interval=0.05, rise=2, fall=2)
    r1 = balancer.replicas.get("r1")
    assert r1 is not None
    replicas[0].healthy = False
    for _ in range(100):
        if r1.state == "down":
            break
        await asyncio.sleep(0.02)
    assert r1.state == "down"
    assert "r1" not in {name for _, name in await _client_run(balancer.port, 6)}
    replicas[0].healthy = True
    for _ in range(100):
        if r1.state == "up":
            break
        await asyncio.sleep(0.02)
    assert r1.state == "up"
    assert "r1" in {name for _, name in await _client_run(balancer.port, 6)}


def test_rise_and_fall_need_consecutive_results() -> None:
    replica = Replica(Upstream("r", "127.0.0.1", 1))
    record(replica, False, rise=2, fall=3)
    record(replica, False, rise=2, fall=3)
    record(replica, True, rise=2, fall=3)  # the run of failures is broken
    record(replica, False, rise=2, fall=3)
    record(replica, False, rise=2, fall=3)
    assert replica.state == "up"
    record(replica, False, rise=2, fall=3)
    assert replica.state == "down"
    record(replica, True, rise=2, fall=3)
    assert replica.state == "down"
    record(replica, True, rise=2, fall=3)
    assert replica.state == "up"


async def test_passively_ejected_replica_returns_after_cooldown_without_active_checks(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    from tests.balancer.fakes import start_replica

    balancer = await make_balancer(replicas[:2], passive_cooldown=0.2)
    port = replicas[0].port
    await replicas[0].stop()
    assert {name for _, name in await _client_run(balancer.port, 4)} == {"r2"}
    assert balancer.replicas.get("r1").state == "down"  # type: ignore[union-attr]
    revived = await start_replica("r1", port=port)
    try:
        await asyncio.sleep(0.3)
        assert "r1" in {name for _, name in await _client_run(balancer.port, 4)}
    finally:
        await revived.stop()


async def test_stop_lets_in_flight_requests_finish(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1])
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(b"GET /slow?s=0.3 HTTP/1.1\r\nHost: t\r\n\r\n")
        await asyncio.sleep(0.1)
        await balancer.stop()
        response = await client.read_response()
    finally:
        await client.close()
    assert response.status == 200
    assert response.header("Connection") == "close"
