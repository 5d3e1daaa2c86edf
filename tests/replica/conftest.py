"""A replica served the way ``python -m lbdemo.replica`` serves it (its own runner, real socket)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import web

from lbdemo.replica.app import ReplicaSettings, create_app, create_runner
from lbdemo.store.postgres import PostgresStore


@pytest_asyncio.fixture
async def served_replica(store: PostgresStore) -> AsyncIterator[str]:
    """Base URL of replica ``r1`` on 127.0.0.1, on the session's PostgreSQL (emptied)."""
    runner = create_runner(create_app(ReplicaSettings("r1"), store))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
