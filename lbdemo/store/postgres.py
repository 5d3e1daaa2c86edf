"""The real Store: one asyncpg pool to a PostgreSQL server (embedded or ``--dsn``).

asyncpg errors and connection failures are translated here, once, into :class:`StoreError`.
Every statement is parameterised.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from lbdemo.errors import StoreError
from lbdemo.store.base import Product

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    id          text PRIMARY KEY,
    price       bigint NOT NULL CHECK (price >= 0),
    write_id    text NOT NULL,
    version     bigint NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now()
)
"""

UPSERT = """
INSERT INTO products AS p (id, price, write_id) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE
   SET price = EXCLUDED.price, write_id = EXCLUDED.write_id,
       version = p.version + 1, updated_at = now()
RETURNING id, price, write_id, version, updated_at
"""

SELECT_ONE = "SELECT id, price, write_id, version, updated_at FROM products WHERE id = $1"
SELECT_ALL = "SELECT id, write_id FROM products"

# Several replicas may create the schema at the same moment on a shared server; CREATE TABLE IF
# NOT EXISTS can still collide on the catalog, so the first one takes this advisory lock.
SCHEMA_LOCK_KEY = 0x1BDE30

# What the driver raises when the server is gone, slow or refuses: all become StoreError.
# InternalClientError is what a pooled connection whose server just died can raise.
DB_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


def _row(record: Any) -> Product:
    return Product(
        record["id"], record["price"], record["write_id"], record["version"], record["updated_at"]
    )


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """What the pool does to a connection given back, beyond asyncpg's own rollback of an open
    transaction (which still happens): nothing. Its default sends ``RESET ALL``, ``UNLISTEN *``,
    ``CLOSE ALL`` and an advisory unlock on every release: one more round trip per operation,
    so twice the round trip per request with the store a region away (results/regions.md).
    The replica sets no session state, listens to nothing and takes only transaction locks."""


class PostgresStore:
    """Products in PostgreSQL, through a pool of connections kept open."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        password: str | None = None,
        min_size: int = 2,
        max_size: int = 10,
        timeout_s: float = 10.0,
        create_schema: bool = True,
    ) -> PostgresStore:
        """A pool to ``dsn``. ``password`` None: the one in the DSN, else ``PGPASSWORD``
        (asyncpg reads it as libpq does), which is how replica processes receive it.
        ``create_schema`` False: a read-only standby, whose schema comes from its primary."""
        try:
            pool = await asyncpg.create_pool(
                dsn,
                password=password,
                min_size=min_size,
                max_size=max_size,
                timeout=timeout_s,
                command_timeout=timeout_s,
                reset=_keep_session,
            )
        except DB_ERRORS as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {error_text(exc)}") from exc
        store = cls(pool)
        if create_schema:
            await store.ensure_schema()
        return store

    async def ensure_schema(self) -> None:
        async with self._acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK_KEY)
            await conn.execute(SCHEMA)

    def _acquire(self) -> Any:
        return _Translating(self._pool.acquire())

    async def put(self, product_id: str, price: int, write_id: str) -> Product:
        async with self._acquire() as conn:
            return _row(await conn.fetchrow(UPSERT, product_id, price, write_id))

    async def get(self, product_id: str) -> Product | None:
        async with self._acquire() as conn:
            record = await conn.fetchrow(SELECT_ONE, product_id)
        return _row(record) if record else None

    async def snapshot(self) -> dict[str, str]:
        async with self._acquire() as conn:
            return {r["id"]: r["write_id"] for r in await conn.fetch(SELECT_ALL)}

    async def ping(self) -> None:
        async with self._acquire() as conn:
            await conn.fetchval("SELECT 1")

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._pool.close(), timeout=5)
        except TimeoutError:
            self._pool.terminate()


class _Translating:
    """``async with pool.acquire()`` that turns driver and socket errors into StoreError."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aenter__(self) -> Any:
        try:
            return await self._inner.__aenter__()
        except DB_ERRORS as exc:
            raise StoreError(f"database unavailable: {exc}") from exc

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        await self._inner.__aexit__(exc_type, exc, tb)
        if isinstance(exc, DB_ERRORS):
            raise StoreError(f"database error: {exc}") from exc
        return False


def error_text(exc: BaseException) -> str:
    """``Type: message``; the type alone when the message is empty (asyncio's TimeoutError has
    none), so a log line never ends at its colon."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
