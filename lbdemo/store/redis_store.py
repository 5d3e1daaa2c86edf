"""The Store on Redis: one hash per product, through the ``redis`` package's asyncio client.

A product is the hash ``product:<id>`` with ``price``, ``write_id``, ``version`` and
``updated_at`` (microseconds since the epoch, the primary's clock). A write is one Lua script,
so the version increment and the new fields are one atomic step on the primary, as PostgreSQL's
upsert is one statement. A replica reads with ``HGETALL``: on a Redis replica that is whatever
the replication stream has brought so far.

Client and socket errors are translated here, once, into :class:`StoreError` (the replica's
handlers answer 503 with it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from lbdemo.errors import StoreError
from lbdemo.store.base import Product

KEY_PREFIX = "product:"
TIMEOUT_S = 10.0
# KEYS[1] the product's hash; ARGV price, write id. Returns {version, seconds, microseconds}.
PUT_SCRIPT = """
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
local now = redis.call('TIME')
local micros = tonumber(now[1]) * 1000000 + tonumber(now[2])
redis.call('HSET', KEYS[1], 'price', ARGV[1], 'write_id', ARGV[2], 'updated_at', micros)
return {version, micros}
"""
ERRORS = (RedisError, OSError, TimeoutError)


def _at(micros: Any) -> datetime:
    return datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC)


class RedisStore:
    """Products in one Redis server (a primary, or a read-only replica)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._put = client.register_script(PUT_SCRIPT)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        password: str | None = None,
        pool_size: int = 10,
        read_only: bool = False,
    ) -> RedisStore:
        """A pool of at most ``pool_size`` connections to ``url`` (a request waits for a free
        one rather than failing), checked with PING. ``read_only`` needs nothing more: a Redis
        replica refuses writes itself."""
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            password=password,
            max_connections=pool_size,
            timeout=TIMEOUT_S,
            socket_timeout=TIMEOUT_S,
            socket_connect_timeout=TIMEOUT_S,
            decode_responses=True,
        )
        store = cls(aioredis.Redis(connection_pool=pool))
        try:
            await store.ping()
        except StoreError:
            await store.close()
            raise
        return store

    async def put(self, product_id: str, price: int, write_id: str) -> Product:
        try:
            version, micros = await self._put(
                keys=[KEY_PREFIX + product_id], args=[price, write_id]
            )
        except ERRORS as exc:
            raise StoreError(f"Redis: {_text(exc)}") from exc
        return Product(product_id, price, write_id, int(version), _at(micros))

    async def get(self, product_id: str) -> Product | None:
        try:
            row = await self._client.hgetall(KEY_PREFIX + product_id)
        except ERRORS as exc:
            raise StoreError(f"Redis: {_text(exc)}") from exc
        if not row:
            return None
        return Product(
            product_id,
            int(row["price"]),
            str(row["write_id"]),
            int(row["version"]),
            _at(row["updated_at"]),
        )

    async def snapshot(self) -> dict[str, str]:
        try:
            keys = [k async for k in self._client.scan_iter(match=KEY_PREFIX + "*", count=1000)]
            async with self._client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hget(key, "write_id")
                values = await pipe.execute()
        except ERRORS as exc:
            raise StoreError(f"Redis: {_text(exc)}") from exc
        return {
            key.removeprefix(KEY_PREFIX): value
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }

    async def ping(self) -> None:
        try:
            await self._client.ping()
        except ERRORS as exc:
            raise StoreError(f"cannot reach Redis: {_text(exc)}") from exc

    async def close(self) -> None:
        try:
            await self._client.aclose()
            await self._client.connection_pool.disconnect()
        except ERRORS:
            pass  # closing a connection to a server already gone


def _text(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
