"""A tiny in-process stand-in for balancer + replicas, serving the product API on 127.0.0.1.

With one replica it is a consistent store. With two it round-robins every request over two
private dicts, like replicas with private databases behind a balancer, so reads go stale. Fault
rules make chosen (method, key) pairs answer like a failing balancer: a status without
``X-Replica``, or a dropped connection after the write was applied.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

DROP = "drop"  # fault: apply the write, then cut the connection without answering


@dataclass
class FakeProducts:
    replicas: int = 1
    faults: dict[tuple[str, str], int | str] = field(default_factory=dict)
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)  # (method, key) -> n
    _stores: list[dict[str, dict[str, Any]]] = field(default_factory=list)
    _next: int = 0
    _runner: web.AppRunner | None = None
    url: str = ""

    async def __aenter__(self) -> FakeProducts:
        self._stores = [{} for _ in range(self.replicas)]
        app = web.Application()
        app.router.add_put("/products/{id}", self._put)
        app.router.add_get("/products/{id}", self._get)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _pick(self) -> tuple[str, dict[str, dict[str, Any]]]:
        i = self._next
        self._next = (i + 1) % self.replicas
        return f"r{i + 1}", self._stores[i]

    def _fault(self, request: web.Request) -> web.Response | None:
        self.requests[request.method, request.match_info["id"]] += 1
        rule = self.faults.get((request.method, request.match_info["id"]))
        if rule is None or rule == DROP:
            return None
        return web.json_response({"error": f"fault {rule}"}, status=int(rule))

    async def _put(self, request: web.Request) -> web.StreamResponse:
        faulty = self._fault(request)
        if faulty is not None:
            return faulty
        name, store = self._pick()
        body = await request.json()
        price, write_id = body.get("price"), body.get("write_id")
        if type(price) is not int or price < 0 or not isinstance(write_id, str):
            return web.json_response({"error": "bad body"}, status=400, headers={"X-Replica": name})
        key = request.match_info["id"]
        old = store.get(key)
        row = {
            "id": key,
            "price": price,
            "write_id": write_id,
            "version": (old["version"] + 1) if old else 1,
            "updated_at": time.time(),
            "replica": name,
        }
        store[key] = row
        if self.faults.get(("PUT", key)) == DROP:
            assert request.transport is not None
            request.transport.abort()
            # aiohttp discards a response for a closed transport; this one is never sent.
            return web.Response(status=500)
        return web.json_response(row, status=200 if old else 201, headers={"X-Replica": name})

    async def _get(self, request: web.Request) -> web.StreamResponse:
        faulty = self._fault(request)
        if faulty is not None:
            return faulty
        name, store = self._pick()
        row = store.get(request.match_info["id"])
        if row is None:
            missing = {"error": "not found"}
            return web.json_response(missing, status=404, headers={"X-Replica": name})
        return web.json_response(row, headers={"X-Replica": name})
