"""One client address cannot take every connection slot of the data port (issue 21 item 6).

The cap used to be global only: 1,030 slow-body connections from one address (above the minimum
body rate, so no deadline cuts them) kept every other client at 503 for as long as they
lasted. ``max_connections_per_client`` is nginx's ``limit_conn`` per address. Loopback has a
whole /8, so other clients connect from 127.0.0.2.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource

import pytest

from tests.balancer.fakes import BalancerFactory, FakeReplica
from tests.balancer.rawhttp import RawClient

SLOW_HEAD = b"PUT /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\nxx"


async def _hold_slow_bodies(port: int, count: int) -> tuple[list[RawClient], int]:
    """``count`` connections from 127.0.0.1, each with a body begun; and how many got 503."""
    held: list[RawClient] = []
    refused = 0

    async def one() -> None:
        nonlocal refused
        client = await RawClient.connect(port)
        await client.send(SLOW_HEAD)
        held.append(client)

    for start in range(0, count, 100):
        await asyncio.gather(*(one() for _ in range(start, min(count, start + 100))))
    await asyncio.sleep(0.3)
    for client in held:
        with contextlib.suppress(Exception):
            if (await client.read_response(timeout=0.01)).status == 503:
                refused += 1
    return held, refused


async def _others_are_served(port: int, count: int) -> list[int]:
    async def one() -> int:
        client = await RawClient.connect(port, source="127.0.0.2")
        try:
            return (await client.request("GET", "/", timeout=5)).status
        finally:
            await client.close()

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def _run(
    replicas: list[FakeReplica], make_balancer: BalancerFactory, attackers: int, **limits: int
) -> None:
    balancer = await make_balancer(replicas, head_timeout=30, body_timeout=60, **limits)
    held, refused = await _hold_slow_bodies(balancer.port, attackers)
    try:
        assert await _others_are_served(balancer.port, 20) == [200] * 20
        per_client = balancer.config.max_connections_per_client
        assert refused == attackers - per_client
        assert len(balancer.connections) == per_client
        # The address at its cap gets the 503 at once, with the reason.
        late = await RawClient.connect(balancer.port)
        try:
            response = await late.request("GET", "/", timeout=5)
        finally:
            await late.close()
        assert response.status == 503
        assert "127.0.0.1" in response.json()["error"]
    finally:
        for client in held:
            await client.close()


async def test_one_address_cannot_take_every_slot(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    await _run(replicas, make_balancer, 60, max_connections=50, max_connections_per_client=25)


@pytest.mark.slow
async def test_1030_slow_bodies_from_one_address_leave_room_for_others(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    """The issue's figure, with the default caps: 1,024 slots, at most 1,000 per address."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 8192:
        pytest.skip(f"needs 8192 descriptors (hard limit {hard})")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 20000)), hard))
    await _run(replicas, make_balancer, 1030)
