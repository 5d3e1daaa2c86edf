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
from lbdemo.dashboard.actions import UPGRADE_IMAGE
from lbdemo.dashboard.deaths import DeadCards
from lbdemo.dashboard.divergence import HotKeys, Listing, steady_divergence
from lbdemo.deploy.live import LiveStack
from lbdemo.replica.lookup import ask_one

PROBE_TIMEOUT_S = 0.8  # below the 1 s sampling period: a hung replica cannot stall the page
REQUESTS_METRIC = "lbdemo_balancer_requests_total"


@dataclass
class _Previous:
    at: float
    by_replica: dict[str, float] = field(default_factory=dict)
    total: float = 0.0


class Sampler:
    """Samples one stack; keeps what the next sample needs to compute rates."""

    def __init__(self, stack: LiveStack) -> None:
        self.stack = stack
        self.watched_key: str | None = None  # None: the hottest key
        self._previous: _Previous | None = None
        self._last_cards: dict[str, dict[str, Any]] = {}  # container id -> its last card
        self._deaths = DeadCards()
        self._hot = HotKeys()
        admin_url = stack.admin_url or ""
        self._admin_url = admin_url.rstrip("/")
        self._admin_headers = {"Authorization": f"Bearer {stack.config.admin_token}"}
        self._http = ClientSession(timeout=ClientTimeout(total=PROBE_TIMEOUT_S))

    async def close(self) -> None:
        await self._http.close()

    async def sample(self) -> dict[str, Any]:
        # a copy: the runtime may change it meanwhile (either runtime's: deploy/live.py)
        replicas = list(self.stack.replicas)
        probes = asyncio.gather(*(self._probe(r.name, r.url) for r in replicas))
        rotation, metrics, looked = await asyncio.gather(self._rotation(), self._metrics(), probes)
        now = time.monotonic()
        by_replica, total = _requests(metrics)
        rates, total_rate = self._rates(now, by_replica, total)
        in_rotation = {r["name"]: r for r in rotation or []}
        cards = []
        listings: dict[str, Listing] = {}
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
        # The second round starts once the whole first one answered (divergence.py says why).
        listed = [r for r in replicas if r.name in listings]
        again = await asyncio.gather(*(self._products(r.url) for r in listed))
        second = {r.name: p for r, p in zip(listed, again, strict=True) if p is not None}
        divergent, compared = steady_divergence(listings, second)
        self._hot.observe(listings)
        self._deaths.update(list(self.stack.events), self._last_cards)
        self._last_cards = {r.id: c for r, c in zip(replicas, cards, strict=True)}
        cards += self._deaths.cards({r.id for r in replicas})
        layout = self.stack.layout
        stack = {
            "storage": layout.storage,
            "summary": layout.summary,
            "balancer": self.stack.url,
            # which engine and read mode serve every read (docs/stores.md)
            "store": layout.store,
            "read_mode": layout.reads_served_by,
        }
        images = {r.image for r in replicas}
        return {
            "time": time.time(),
            "stack": stack,
            "replicas": cards,
            "rotation": [{"name": r["name"], "state": r["state"]} for r in rotation or []],
            "balancer_reachable": rotation is not None,
            "counts": {
                "requests": int(total) if metrics is not None else None,
                "rps": round(total_rate, 1),
                "divergent_keys": len(divergent),
                "keys_compared": compared,
                "keys": len(Audit(replicas=listings).keys()),
                "replicas_listed": len(listings),
            },
            "key": await self._key_view(replicas),
            "upgrade": {"image": UPGRADE_IMAGE, "already": images == {UPGRADE_IMAGE}},
        }

    async def _key_view(self, replicas: list[Any]) -> dict[str, Any]:
        """One key on every replica, as ``lbdemo get KEY --each-replica`` shows it."""
        key = self.watched_key or self._hot.hottest()
        chosen = "asked" if self.watched_key else "hottest"
        if key is None:
            return {"key": None, "chosen": chosen, "replicas": [], "agree": None}
        rows = await asyncio.gather(
            *(ask_one(self._http, r.name, r.id[:12], r.url, key) for r in replicas)
        )
        answered = {(r["price"], r["write_id"]) for r in rows if r["status"] in (200, 404)}
        return {
            "key": key,
            "chosen": chosen,
            "replicas": list(rows),
            "agree": len(answered) == 1 if answered else None,
        }

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
        return health, await self._products(url)

    async def _products(self, url: str) -> Listing | None:
        try:
            async with self._http.get(f"{url}/products") as response:
                if response.status != 200:
                    return None
                body = await response.json()
            return dict(body["products"])
        except (ClientError, TimeoutError, ValueError, KeyError, TypeError):
            return None

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
