"""Fixtures shared by the whole suite: one real embedded PostgreSQL per test session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from lbdemo.store.embedded import EmbeddedPostgres, ServerInfo
from lbdemo.store.postgres import PostgresStore
from lbdemo.store.secret import PASSWORD_ENV


@pytest_asyncio.fixture(scope="session")
async def pg_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerInfo]:
    """A real PostgreSQL 16 from the pgserver wheel, stopped at the end of the session.

    It wants a password like every embedded server. Tests use its password-free ``dsn`` as a
    user would a ``--dsn`` server: the password comes from ``PGPASSWORD``, set for the session.
    """
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "pgdata")
    info = await server.start()
    previous = os.environ.get(PASSWORD_ENV)
    os.environ[PASSWORD_ENV] = info.password
    try:
        yield info
    finally:
        if previous is None:
            os.environ.pop(PASSWORD_ENV, None)
        else:
            os.environ[PASSWORD_ENV] = previous
        await server.stop()


@pytest_asyncio.fixture
async def store(pg_server: ServerInfo) -> AsyncIterator[PostgresStore]:
    """A store on the session's server, emptied for each test."""
    store = await PostgresStore.connect(pg_server.dsn, password=pg_server.password)
    async with store._pool.acquire() as conn:
        await conn.execute("TRUNCATE products")
    try:
        yield store
    finally:
        await store.close()
