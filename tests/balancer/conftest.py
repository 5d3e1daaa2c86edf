"""Fixtures for balancer tests: three fake replicas and a factory of balancers, stopped after."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from fakes import BalancerFactory, FakeReplica, start_replica

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
