"""Fixtures shared by the whole suite: one real embedded PostgreSQL per test session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from lbdemo.store.embedded import EmbeddedPostgres, ServerInfo
from lbdemo.store.postgres import PostgresStore


@pytest_asyncio.fixture(scope="session")
async def pg_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerInfo]:
    """A real PostgreSQL 16 from the pgserver wheel, stopped at the end of the session."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "pgdata")
    info = await server.start()
    try:
        yield info
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def store(pg_server: ServerInfo) -> AsyncIterator[PostgresStore]:
    """A store on the session's server, emptied for each test."""
    store = await PostgresStore.connect(pg_server.dsn)
    async with store._pool.acquire() as conn:
        await conn.execute("TRUNCATE products")
    try:
        yield store
    finally:
        await store.close()
