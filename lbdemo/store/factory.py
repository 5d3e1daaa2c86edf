"""A replica's Store from its store URL (the scheme names the kind), and a stack's engine by kind.

* ``postgresql://`` / ``postgres://``: :class:`~lbdemo.store.postgres.PostgresStore`;
* ``redis://127.0.0.1:PORT``: :class:`~lbdemo.store.redis_store.RedisStore`;
* ``etcd://127.0.0.1:PORT?read=linearizable|serializable``: ``lbdemo.store.etcd_store.EtcdStore``.

With a read URL (a replicated layout) writes go to the first, reads to the second
(:class:`~lbdemo.store.split.SplitStore`). A URL never carries a password: it comes beside it.
Each engine module provides ``Class.connect(url, *, password, pool_size, read_only) -> Store``;
:func:`make_engine` gives the runtime the servers of ``--store redis|etcd``
(:mod:`lbdemo.store.engines`).
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lbdemo.errors import StoreError, UsageError
from lbdemo.store.base import Store
from lbdemo.store.engines import EngineSpec, StoreEngine
from lbdemo.store.split import SplitStore

SCHEMES = {"postgresql": "postgres", "postgres": "postgres", "redis": "redis", "etcd": "etcd"}


def store_kind(url: str) -> str:
    """The kind a store URL names by its scheme, or a one-line UsageError (never the URL: it may
    hold a password)."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise UsageError(
            "the store URL must be postgresql://, redis:// or etcd://"
            + (f", got {scheme}://" if scheme.isalnum() else "")
        )
    return SCHEMES[scheme]


def read_mode_of(url: str) -> str:
    """How reads through ``url`` are served, as reports name it: etcd's ``read=`` parameter
    (``linearizable`` unless it says ``serializable``); ``primary`` for the other kinds (a
    replicated layout's read URL is named by its caller)."""
    if store_kind(url) != "etcd":
        return "primary"
    values = parse_qs(urlsplit(url).query).get("read", ["linearizable"])
    return values[-1]


def describe_store(url: str, read_url: str | None = None) -> dict[str, Any]:
    """What a replica says (in its ready line, hence ``stack.json``) about what serves it."""
    kind = store_kind(url)
    copy = "standby" if kind == "postgres" else "replica"  # a replicated layout's own copy
    mode = read_mode_of(url) if read_url is None else copy
    return {"store": kind, "read_mode": mode}


async def open_store(
    url: str, *, read_url: str | None = None, password: str | None = None, pool_size: int = 10
) -> Store:
    """The replica's Store (connected), writes to ``url``, reads from ``read_url`` if given."""
    writes = await _connect(url, password=password, pool_size=pool_size, read_only=False)
    if read_url is None:
        return writes
    try:
        reads = await _connect(read_url, password=password, pool_size=pool_size, read_only=True)
    except BaseException:
        await writes.close()
        raise
    return SplitStore(writes, reads)


async def _connect(url: str, *, password: str | None, pool_size: int, read_only: bool) -> Store:
    kind = store_kind(url)
    if kind == "postgres":
        from lbdemo.store.postgres import PostgresStore

        try:
            return await PostgresStore.connect(
                url,
                password=password,
                min_size=min(2, pool_size),
                max_size=pool_size,
                create_schema=not read_only,  # a standby is read-only: the primary made it
            )
        except (ValueError, OverflowError) as exc:  # asyncpg's word for a malformed DSN
            raise UsageError(f"invalid store DSN: {exc}") from None
    if kind == "redis":
        from lbdemo.store.redis_store import RedisStore

        return await RedisStore.connect(
            url, password=password, pool_size=pool_size, read_only=read_only
        )
    # the etcd branch's module; by name until it is merged (then a plain import)
    etcd_store: Any = importlib.import_module("lbdemo.store.etcd_store").EtcdStore
    store: Store = await etcd_store.connect(
        url, password=password, pool_size=pool_size, read_only=read_only
    )
    return store


def make_engine(spec: EngineSpec) -> StoreEngine:
    """The engine of ``spec.kind`` (not started)."""
    if spec.kind == "redis":
        from lbdemo.store.redis_engine import RedisEngine

        return RedisEngine(spec)
    if spec.kind == "etcd":
        # the etcd branch's module; by name until it is merged (then a plain import)
        engine: StoreEngine = importlib.import_module("lbdemo.store.etcd_engine").EtcdEngine(spec)
        return engine
    raise StoreError(f"no engine for store kind {spec.kind!r} (postgres runs as before)")
