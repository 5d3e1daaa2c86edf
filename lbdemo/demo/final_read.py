"""The final read: ask every replica directly, bypassing the balancer, what it holds, and
make an :class:`lbdemo.checker.Audit` of the answers (which the checker then judges)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from aiohttp import ClientError, ClientSession, ClientTimeout

from lbdemo.checker import Audit
from lbdemo.errors import ProcessError

AUDIT_TIMEOUT_S = 10.0


async def take_audit(
    replicas: Sequence[tuple[str, str]], keys: Iterable[str] | None = None
) -> Audit:
    """``replicas`` as (name, url) pairs. With ``keys``, the audit covers those keys only (a
    shared volume keeps rows of earlier runs, which this run's history knows nothing of)."""
    wanted = set(keys) if keys is not None else None
    async with ClientSession(timeout=ClientTimeout(total=AUDIT_TIMEOUT_S)) as http:
        listings = await asyncio.gather(*(_listing(http, name, url) for name, url in replicas))
    values: dict[str, dict[str, str | None]] = {}
    rows: dict[str, int] = {}
    for (name, _), products in zip(replicas, listings, strict=True):
        if wanted is not None:
            products = {k: v for k, v in products.items() if k in wanted}
            for key in wanted - products.keys():
                products[key] = None
        values[name] = dict(products)
        rows[name] = sum(1 for v in products.values() if v is not None)
    return Audit(replicas=values, rows=rows)


async def _listing(http: ClientSession, name: str, url: str) -> dict[str, str | None]:
    try:
        async with http.get(f"{url}/products") as response:
            response.raise_for_status()
            body = await response.json()
    except (ClientError, TimeoutError) as exc:
        raise ProcessError(f"audit: replica {name} at {url} did not answer: {exc}") from exc
    return dict(body["products"])
