"""One product asked of several servers at once (each replica directly, or the balancer):
what `lbdemo get --each-replica` prints and the dashboard's look-up shows."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from aiohttp import ClientError, ClientSession, ClientTimeout

TIMEOUT_S = 5.0


async def ask_every(targets: list[tuple[str, str, str]], key: str) -> list[dict[str, Any]]:
    async with ClientSession(timeout=ClientTimeout(total=TIMEOUT_S)) as http:
        return list(await asyncio.gather(*(ask_one(http, *t, key) for t in targets)))


async def ask_one(http: ClientSession, name: str, cid: str, url: str, key: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "asked": name,
        "container_id": cid[:12],
        "status": None,
        "replica": None,
        "price": None,
        "write_id": None,
        "error": None,
    }
    try:
        async with http.get(f"{url}/products/{quote(key, safe='')}") as response:
            row["status"] = response.status
            row["replica"] = response.headers.get("X-Replica")
            body = await response.json(content_type=None)
    except (ClientError, TimeoutError, ValueError) as exc:
        row["error"] = str(exc) or type(exc).__name__
        return row
    if response.status == 200 and isinstance(body, dict):
        row["price"], row["write_id"] = body.get("price"), body.get("write_id")
    elif isinstance(body, dict):
        row["error"] = body.get("error")
    return row
