"""Fixtures for balancer tests: three fake replicas and a factory of balancers, stopped after."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from fakes import BalancerFactory, FakeReplica, RawReplica, Script, StartRaw, start_replica

from lbdemo.balancer import Balancer, BalancerConfig, Upstream


@pytest_asyncio.fixture
async def replicas() -> AsyncIterator[list[FakeReplica]]:
    started = [await start_replica(f"r{i}") for i in (1, 2, 3)]
    try:
        yield started
    finally:
        for replica in started:
            await replica.stop()


@pytest_asyncio.fixture
async def make_balancer() -> AsyncIterator[BalancerFactory]:
    """Start balancers with BalancerConfig overrides; all are stopped after the test."""
    running: list[Balancer] = []

    async def factory(
        upstreams: list[FakeReplica] | tuple[Upstream, ...], **overrides: Any
    ) -> Balancer:
        ups = tuple(u.upstream if isinstance(u, FakeReplica) else u for u in upstreams)
        overrides.setdefault("health_interval", 0)
        config = dataclasses.replace(BalancerConfig(), upstreams=ups, **overrides)
        balancer = Balancer(config)
        await balancer.start()
        running.append(balancer)
        return balancer

    try:
        yield factory
    finally:
        for balancer in running:
            await balancer.stop()


@pytest_asyncio.fixture
async def raw_replica() -> AsyncIterator[StartRaw]:
    """Start RawReplicas; all are stopped after the test."""
    started: list[RawReplica] = []

    async def start(script: Script) -> RawReplica:
        replica = RawReplica(script)
        replica.server = await asyncio.start_server(replica.handle, "127.0.0.1", 0)
        replica.port = replica.server.sockets[0].getsockname()[1]
        started.append(replica)
        return replica

    try:
        yield start
    finally:
        for replica in started:
            assert replica.server is not None
            replica.server.close()
            for writer in replica.writers:
                writer.close()
            await replica.server.wait_closed()
