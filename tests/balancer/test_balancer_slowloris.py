"""Slow clients cannot hold the balancer: head deadline, minimum body rate, connection cap.

Issue 10, defect 8: the client timeout used to be an idle timer (one byte a second kept a
connection forever) and there was no connection limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest

from tests.balancer.fakes import BalancerFactory, FakeReplica
from tests.balancer.rawhttp import RawClient


async def _trickle(client: RawClient, first: bytes, piece: bytes, every: float) -> None:
    """Send ``first``, then ``piece`` every ``every`` seconds until the balancer hangs up."""
    with contextlib.suppress(ConnectionError):
        await client.send(first)
        while True:
            await asyncio.sleep(every)
            await client.send(piece)


async def test_head_trickled_a_byte_at_a_time_is_cut_off_at_the_head_deadline(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    # The idle timer alone (client_timeout) would never fire: a byte arrives every 50 ms.
    balancer = await make_balancer(replicas[:1], head_timeout=0.6, client_timeout=30)
    client = await RawClient.connect(balancer.port)
    began = time.monotonic()
    sender = asyncio.create_task(_trickle(client, b"GET / HTTP/1.1\r\nHost: t\r\n", b"X", 0.05))
    try:
        response = await client.read_response(timeout=5)
        elapsed = time.monotonic() - began
        assert await client.closed_by_peer()
    finally:
        sender.cancel()
        await client.close()
    assert response.status == 408
    assert response.header("Content-Type") == "application/json"
    assert "head" in response.json()["error"]
    assert 0.55 <= elapsed < 1.6
    assert replicas[0].arrivals == []


async def test_connection_that_never_sends_a_request_is_closed_at_the_head_deadline(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1], head_timeout=0.4, keepalive_timeout=60)
    client = await RawClient.connect(balancer.port)
    began = time.monotonic()
    try:
        assert await client.closed_by_peer(timeout=3)
    finally:
        await client.close()
    assert 0.35 <= time.monotonic() - began < 1.5


async def test_empty_lines_trickled_between_requests_do_not_keep_a_connection_open(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    # The parser skips any number of empty lines before a request line (RFC 9112 §2.2), so
    # they never start a head: counted as activity, "\r\n" every 100 ms would hold the
    # connection forever. Found while hardening; it is not activity.
    balancer = await make_balancer(replicas[:1], head_timeout=0.5, keepalive_timeout=0.8)
    for first in (b"", b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"):
        client = await RawClient.connect(balancer.port)
        began = time.monotonic()
        sender = asyncio.create_task(_trickle(client, first, b"\r\n", 0.1))
        try:
            assert await client.closed_by_peer(timeout=4)
        finally:
            sender.cancel()
            await client.close()
        assert time.monotonic() - began < 2.0


async def test_body_below_the_minimum_rate_is_cut_off(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    # 10 bytes every 50 ms is 200 B/s: under the 2,000 B/s asked for after a 0.5 s grace.
    balancer = await make_balancer(
        replicas[:1], body_timeout=0.5, min_body_rate=2000, client_timeout=30
    )
    client = await RawClient.connect(balancer.port)
    head = b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"
    began = time.monotonic()
    sender = asyncio.create_task(_trickle(client, head, b"z" * 10, 0.05))
    try:
        response = await client.read_response(timeout=5)
        elapsed = time.monotonic() - began
    finally:
        sender.cancel()
        await client.close()
    assert response.status == 408
    assert "body" in response.json()["error"]
    assert 0.45 <= elapsed < 1.6


async def test_body_at_a_fair_rate_is_not_cut_off(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    # 20,000 bytes over about a second: above the minimum rate, past the grace period.
    balancer = await make_balancer(replicas[:1], body_timeout=0.3, min_body_rate=5000)
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 20000\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0.05)
            await client.send(b"y" * 1000)
        response = await client.read_response(timeout=5)
    finally:
        await client.close()
    assert response.status == 200
    assert response.json()["received"] == 20000


async def test_with_the_connection_cap_reached_a_new_client_gets_503_at_once(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1], max_connections=5)
    holders = [await RawClient.connect(balancer.port) for _ in range(5)]
    try:
        for holder in holders:  # every slot is really taken: each has been served once
            assert (await holder.request("GET", "/")).status == 200
        late = await RawClient.connect(balancer.port)
        began = time.monotonic()
        try:
            response = await late.request("GET", "/", timeout=5)
            elapsed = time.monotonic() - began
            assert await late.closed_by_peer(timeout=3)
        finally:
            await late.close()
        assert response.status == 503
        assert response.header("Content-Type") == "application/json"
        assert "connections" in response.json()["error"]
        assert elapsed < 0.5
        # A slot that frees up is available again.
        await holders.pop().close()
        for _ in range(50):
            if len(balancer.connections) < 5:
                break
            await asyncio.sleep(0.02)
        again = await RawClient.connect(balancer.port)
        try:
            assert (await again.request("GET", "/")).status == 200
        finally:
            await again.close()
    finally:
        for holder in holders:
            await holder.close()


async def test_normal_requests_are_served_while_100_connections_trickle(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas, max_connections=200, head_timeout=10)
    tricklers = [await RawClient.connect(balancer.port) for _ in range(100)]
    senders = [
        asyncio.create_task(_trickle(t, b"GET / HTTP/1.1\r\nHost: t\r\n", b"X", 0.2))
        for t in tricklers
    ]
    try:
        await asyncio.sleep(0.3)
        assert len(balancer.connections) == 100
        client = await RawClient.connect(balancer.port)
        began = time.monotonic()
        try:
            statuses = [(await client.request("GET", f"/n{i}")).status for i in range(30)]
        finally:
            await client.close()
        elapsed = time.monotonic() - began
        assert statuses == [200] * 30
        assert elapsed < 3.0
    finally:
        for sender in senders:
            sender.cancel()
        for t in tricklers:
            await t.close()


@pytest.mark.slow
async def test_descriptor_limited_balancer_answers_503_not_resets_then_recovers(
    replicas: list[FakeReplica],
) -> None:
    # The setting: a balancer process with few descriptors and 100 trickling
    # connections. Below the descriptor limit the cap answers 503; the head deadline then
    # frees the slots, and normal requests are served again.
    def few_descriptors() -> None:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, hard))

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lbdemo.balancer",
            "--health-interval",
            "0",
            "--max-connections",
            "60",
            "--head-timeout",
            "1",
            *(f"--upstream=r{i}=http://127.0.0.1:{r.port}" for i, r in enumerate(replicas)),
        ],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=few_descriptors,
    )
    tricklers: list[RawClient] = []
    senders: list[asyncio.Task[None]] = []
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
        port = int(json.loads(line)["url"].rsplit(":", 1)[1])
        for _ in range(100):
            trickler = await RawClient.connect(port)
            tricklers.append(trickler)
            senders.append(
                asyncio.create_task(_trickle(trickler, b"GET / HTTP/1.1\r\nHost: t\r\n", b"X", 0.2))
            )
        await asyncio.sleep(0.2)
        client = await RawClient.connect(port)
        began = time.monotonic()
        try:
            refused = await client.request("GET", "/", timeout=5)
        finally:
            await client.close()
        assert refused.status == 503 and time.monotonic() - began < 0.5
        await asyncio.sleep(1.5)  # past the head deadline: the tricklers are cut off
        client = await RawClient.connect(port)
        try:
            statuses = [(await client.request("GET", f"/n{i}")).status for i in range(10)]
        finally:
            await client.close()
        assert statuses == [200] * 10
    finally:
        for sender in senders:
            sender.cancel()
        for trickler in tricklers:
            await trickler.close()
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
