"""One look at a running stack, as the dashboard shows it: sampled, never pushed by the data path.

Each sample asks, concurrently and with a short timeout: every replica directly (``/healthz`` and
``GET /products``, as the final audit does: bypassing the balancer), and the balancer's admin API
(``/replicas`` for the rotation, ``/metrics`` for requests answered). Rates are differences
between two samples. A replica or the balancer that does not answer in time is shown as such;
a sample never fails as a whole.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout
from prometheus_client.parser import text_string_to_metric_families

from lbdemo.checker import Audit
from lbdemo.dashboard.counts import LoadCounts
from lbdemo.runtime.stack import Stack

PROBE_TIMEOUT_S = 0.8  # below the 1 s sampling period: a hung replica cannot stall the page
REQUESTS_METRIC = "lbdemo_balancer_requests_total"


@dataclass
class _Previous:
    at: float
    by_replica: dict[str, float] = field(default_factory=dict)
    total: float = 0.0


class Sampler:
    """Samples one stack; keeps what the next sample needs to compute rates."""

    def __init__(self, stack: Stack, load: LoadCounts) -> None:
        self.stack = stack
        self.load = load
        self._previous: _Previous | None = None
        self._last_cards: dict[str, dict[str, Any]] = {}
        admin_url = stack.admin_url or ""
        self._admin_url = admin_url.rstrip("/")
        self._admin_headers = {"Authorization": f"Bearer {stack.config.admin_token}"}
        self._http = ClientSession(timeout=ClientTimeout(total=PROBE_TIMEOUT_S))

    async def close(self) -> None:
        await self._http.close()

    async def sample(self) -> dict[str, Any]:
        replicas = list(self.stack.replicas)  # a copy: the runtime may change it meanwhile
        probes = asyncio.gather(*(self._probe(r.name, r.url) for r in replicas))
        rotation, metrics, looked = await asyncio.gather(self._rotation(), self._metrics(), probes)
        now = time.monotonic()
        by_replica, total = _requests(metrics)
        rates, total_rate = self._rates(now, by_replica, total)
        in_rotation = {r["name"]: r for r in rotation or []}
        cards = []
        listings: dict[str, dict[str, str | None]] = {}
        for replica, (health, products) in zip(replicas, looked, strict=True):
            member = in_rotation.get(replica.name)
            if products is not None:
                listings[replica.name] = products
            cards.append(
                {
                    "name": replica.name,
                    "dead": False,
                    "id": replica.id[:12],
                    "image": replica.image,
                    "version": replica.image.rsplit(":", 1)[-1],
                    "url": replica.url,
                    "health": health,
                    "rotation": member["state"] if member else "out",
                    "in_flight": member["in_flight"] if member else 0,
                    "rps": round(rates.get(replica.name, 0.0), 1),
                    "requests": int(by_replica.get(replica.name, 0)),
                    "rows": len([v for v in products.values() if v is not None])
                    if products is not None
                    else None,
                }
            )
        cards += self._dead_cards({c["name"] for c in cards})
        self._last_cards = {c["name"]: c for c in cards}
        audit = Audit(replicas=listings)  # the final audit's own definition of divergence
        layout = self.stack.layout
        stack = {"storage": layout.storage, "summary": layout.summary, "balancer": self.stack.url}
        return {
            "time": time.time(),
            "stack": stack,
            "replicas": cards,
            "rotation": [{"name": r["name"], "state": r["state"]} for r in rotation or []],
            "balancer_reachable": rotation is not None,
            "counts": {
                "requests": int(total) if metrics is not None else None,
                "rps": round(total_rate, 1),
                "divergent_keys": len(audit.divergent_keys()),
                "keys": len(audit.keys()),
                "replicas_listed": len(listings),
                "load": self.load.describe(),
            },
        }

    def _dead_cards(self, running: set[str]) -> list[dict[str, Any]]:
        """A replica that died stays on the page, dead, until its replacement runs: the moment
        the audience should see. One removed or upgraded away just goes."""
        last: dict[str, dict[str, Any]] = {}  # name -> its latest event
        deaths: dict[str, dict[str, Any]] = {}  # name -> its latest "die"
        for event in self.stack.runtime.events:
            name = event.get("name")
            if name is not None:
                last[name] = event
                if event.get("event") == "die":
                    deaths[name] = event
        dead = []
        for name, card in self._last_cards.items():
            if name in running or name not in deaths:
                continue
            if last[name].get("event") not in ("die", "leave"):
                continue  # since its death: replaced, removed or upgraded away
            dead.append(
                {
                    **card,
                    "health": f"died, exit status {deaths[name].get('exit_code')}",
                    "rotation": "out",
                    "rps": 0.0,
                    "in_flight": 0,
                    "rows": None,
                    "dead": True,
                }
            )
        return dead

    def _rates(
        self, now: float, by_replica: dict[str, float], total: float
    ) -> tuple[dict[str, float], float]:
        previous, self._previous = self._previous, _Previous(now, by_replica, total)
        if previous is None or now <= previous.at:
            return {}, 0.0
        span = now - previous.at
        rates = {
            name: max(0.0, count - previous.by_replica.get(name, 0.0)) / span
            for name, count in by_replica.items()
        }
        return rates, max(0.0, total - previous.total) / span

    async def _probe(self, name: str, url: str) -> tuple[str, dict[str, str | None] | None]:
        """(health, products): health is ``healthy``, ``HTTP <status>`` or ``no answer``."""
        health = await self._health(url)
        if health != "healthy":
            return health, None
        try:
            async with self._http.get(f"{url}/products") as response:
                if response.status != 200:
                    return health, None
                body = await response.json()
            return health, dict(body["products"])
        except (ClientError, TimeoutError, ValueError, KeyError, TypeError):
            return health, None

    async def _health(self, url: str) -> str:
        try:
            async with self._http.get(f"{url}/healthz") as response:
                return "healthy" if response.status == 200 else f"HTTP {response.status}"
        except (ClientError, TimeoutError):
            return "no answer"

    async def _rotation(self) -> list[dict[str, Any]] | None:
        try:
            async with self._http.get(
                f"{self._admin_url}/replicas", headers=self._admin_headers
            ) as response:
                if response.status != 200:
                    return None
                body = await response.json()
        except (ClientError, TimeoutError, ValueError):
            return None
        return body if isinstance(body, list) else None

    async def _metrics(self) -> str | None:
        try:
            async with self._http.get(
                f"{self._admin_url}/metrics", headers=self._admin_headers
            ) as response:
                return await response.text() if response.status == 200 else None
        except (ClientError, TimeoutError):
            return None


def _requests(metrics: str | None) -> tuple[dict[str, float], float]:
    """Requests the balancer answered, by replica label, and in all (its own 503s included)."""
    by_replica: dict[str, float] = {}
    if metrics is None:
        return by_replica, 0.0
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == REQUESTS_METRIC:
                name = sample.labels.get("replica", "")
                by_replica[name] = by_replica.get(name, 0.0) + sample.value
    return by_replica, sum(by_replica.values())
