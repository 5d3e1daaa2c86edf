"""Strategies pick replicas: round robin, least connections, random, sticky by header or cookie."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from lbdemo.balancer.config import BalancerConfig, Upstream
from lbdemo.balancer.pool import Replica
from lbdemo.balancer.strategy import LeastConn, Random, RoundRobin, Sticky, make_strategy
from lbdemo.errors import UsageError
from tests.balancer.fakes import BalancerFactory, FakeReplica
from tests.balancer.rawhttp import RawClient


def _replicas(n: int) -> list[Replica]:
    return [Replica(Upstream(f"r{i}", "127.0.0.1", 1000 + i)) for i in range(1, n + 1)]


def test_round_robin_skips_unavailable_replicas_and_keeps_order() -> None:
    members = _replicas(3)
    members[1].set_draining(True)
    rr = RoundRobin()
    assert [rr.pick(members, None).name for _ in range(4)] == ["r1", "r3", "r1", "r3"]  # type: ignore[union-attr]


def test_round_robin_returns_none_when_all_excluded_or_down() -> None:
    members = _replicas(2)
    rr = RoundRobin()
    assert rr.pick(members, None, exclude=members) is None
    for m in members:
        m.set_healthy(False)
    assert rr.pick(members, None) is None


def test_least_conn_prefers_fewest_in_flight_and_rotates_ties() -> None:
    members = _replicas(3)
    members[0].in_flight = 5
    members[1].in_flight = 1
    members[2].in_flight = 1
    lc = LeastConn()
    assert [lc.pick(members, None).name for _ in range(4)] == ["r2", "r3", "r2", "r3"]  # type: ignore[union-attr]
    members[2].in_flight = 0
    assert lc.pick(members, None).name == "r3"  # type: ignore[union-attr]


def test_random_only_picks_available_replicas_and_spreads() -> None:
    members = _replicas(3)
    members[2].set_healthy(False)
    rnd = Random(random.Random(7))
    picks = Counter(rnd.pick(members, None).name for _ in range(300))  # type: ignore[union-attr]
    assert set(picks) == {"r1", "r2"} and min(picks.values()) > 100


def test_sticky_sends_same_key_to_same_replica_and_moves_only_keys_of_a_leaver() -> None:
    members = _replicas(3)
    sticky = Sticky()
    keys = [f"client-{i}".encode() for i in range(60)]
    before = {k: sticky.pick(members, k).name for k in keys}  # type: ignore[union-attr]
    assert before == {k: sticky.pick(members, k).name for k in keys}  # type: ignore[union-attr]
    assert len(set(before.values())) == 3
    members[0].set_draining(True)
    after = {k: sticky.pick(members, k).name for k in keys}  # type: ignore[union-attr]
    moved = {k for k in keys if before[k] != after[k]}
    assert moved == {k for k in keys if before[k] == "r1"}


def test_sticky_cookie_wins_over_header_when_configured() -> None:
    sticky = Sticky(header="X-Client-Id", cookie="sid")
    assert sticky.key_from(b"h", b"a=1; sid=abc") == b"abc"
    assert sticky.key_from(b"h", b"a=1") == b"h"
    assert Sticky().key_from(b"h", b"sid=abc") == b"h"


def test_unknown_strategy_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        make_strategy("fastest")
    with pytest.raises(UsageError):
        BalancerConfig(strategy="fastest")


async def test_sticky_header_routes_a_client_to_one_replica_through_the_balancer(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas, strategy="sticky", sticky_header="X-User")
    client = await RawClient.connect(balancer.port)
    try:
        alice = {
            (await client.request("GET", "/", {"X-User": "alice"})).header("X-Replica")
            for _ in range(6)
        }
        anonymous = [(await client.request("GET", "/")).header("X-Replica") for _ in range(3)]
    finally:
        await client.close()
    assert len(alice) == 1
    assert sorted(anonymous) == ["r1", "r2", "r3"]  # type: ignore[type-var]


async def test_least_conn_avoids_the_replica_busy_with_a_slow_request(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas, strategy="least-conn")
    slow = await RawClient.connect(balancer.port)
    fast = await RawClient.connect(balancer.port)
    try:
        await slow.send(b"GET /slow?s=0.3 HTTP/1.1\r\nHost: t\r\n\r\n")  # goes to r1
        await asyncio.sleep(0.05)
        names = [(await fast.request("GET", "/")).header("X-Replica") for _ in range(6)]
        await slow.read_response()
    finally:
        await slow.close()
        await fast.close()
    assert "r1" not in names
