"""A real dashboard server on 127.0.0.1 fed with snapshots chosen by the test, for the page tests.

The server (``lbdemo.dashboard.Dashboard``) runs on its own event loop in a thread, so that the
test drives Selenium synchronously. What it sends is what a stack's sampler would send, in the
fields ``docs/dashboard.md`` documents; choosing them lets a test put the page in its fullest
state (six cards, one dead, an inconsistent verdict with a long count, a long event log) and
measure the layout, instead of waiting for a stack to happen to get there.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from lbdemo.dashboard import Dashboard
from lbdemo.dashboard.sse import Message

T = TypeVar("T")


def price_rows(prices: dict[str, int]) -> list[dict[str, Any]]:
    """Rows as `lbdemo get KEY --each-replica --json` has them (a negative price: not found)."""
    rows = []
    for i, (name, price) in enumerate(prices.items()):
        found = price >= 0
        rows.append(
            {
                "replica": name,
                "asked": name,
                "container_id": f"{i:02d}c0ffee0000"[:12],
                "status": 200 if found else 404,
                "price": price if found else None,
                "write_id": f"load-0a1b2c3d-u{i}-{price}" if found else None,
            }
        )
    return rows


class FakeActions:
    """The look-up a stack would answer (the only action the layout tests need)."""

    def __init__(self, prices: dict[str, int]) -> None:
        self.prices = prices

    async def lookup(self, key: str) -> list[dict[str, Any]]:
        return price_rows(self.prices)

    async def close(self) -> None:
        pass


class FedDashboard:
    """The dashboard server on a thread's loop; every method is called from the test's thread."""

    def __init__(self, port: int = 0, token: str | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.dashboard = Dashboard(port=port, token=token)
        self._run(self.dashboard.start())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    @property
    def link(self) -> str:
        return self.dashboard.link

    @property
    def port(self) -> int:
        assert self.dashboard.url is not None
        return int(self.dashboard.url.rsplit(":", 1)[1])

    def publish(self, snapshot: dict[str, Any]) -> None:
        self._loop.call_soon_threadsafe(
            self.dashboard.broadcaster.publish, Message("snapshot", snapshot)
        )

    def say(self, line: str, at: str = "10:00:00") -> None:
        message = Message("log", {"time": at, "line": line})
        self._loop.call_soon_threadsafe(self.dashboard.broadcaster.publish, message)

    def set_actions(self, actions: Any) -> None:
        self.dashboard.actions = actions

    def close(self) -> None:
        try:
            self.dashboard.actions = None
            self._run(self.dashboard.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


@contextmanager
def fed_dashboard(port: int = 0, token: str | None = None) -> Iterator[FedDashboard]:
    fed = FedDashboard(port, token)
    try:
        yield fed
    finally:
        fed.close()


REPLICAS = [f"lbdemo-r{i}" for i in range(1, 7)]


def busy_snapshot(generation: str = "gen-1", *, replay: bool = False) -> dict[str, Any]:
    """The page at its fullest: six replicas (r2 dead beside its replacement), a load that
    found a seven-digit count of stale reads, both runs' series, one key on every replica."""
    cards = [
        {
            "name": name,
            "dead": False,
            "id": f"{i:x}a9f3c2e81d7"[:12],
            "image": "lbdemo/catalog:1.0",
            "version": "1.0",
            "url": f"http://127.0.0.1:{41000 + i}",
            "health": "healthy",
            "rotation": "up",
            "in_flight": 3,
            "rps": 1234.5,
            "requests": 987654,
            "rows": 12345,
        }
        for i, name in enumerate(REPLICAS)
    ]
    cards.append(
        {
            **cards[1],
            "id": "dead0c0ffee1",
            "dead": True,
            "health": "died, exit status 137",
            "rotation": "out",
            "rps": 0.0,
            "rows": None,
            "died_at": time.time() - 1,
            "replaced_by": cards[1]["id"],
        }
    )
    t = [float(s) for s in range(1, 61)]
    return {
        "time": time.time(),
        "generation": generation,
        "replay": replay,
        "stack": {
            "storage": "private",
            "summary": "6 replicas, private storage: one PostgreSQL inside each container",
            "balancer": "http://127.0.0.1:8080",
        },
        "replicas": cards,
        "rotation": [{"name": n, "state": "up"} for n in REPLICAS],
        "balancer_reachable": True,
        "subscribers": 1,
        "counts": {
            "requests": 12_345_678,
            "rps": 2345.6,
            "divergent_keys": 8,
            "keys": 9,
            "keys_compared": 9,
            "replicas_listed": 6,
            "load": {
                "ops": 2_345_678,
                "reads": 1_234_567,
                "failures": 0,
                "stale_reads": 1_234_567,
                "elapsed_s": 60.0,
                "lost_writes": 12_345,
            },
        },
        "verdict": {
            "state": "running",
            "text": "INCONSISTENT",
            "stale_reads": 1_234_567,
            "lost_writes": None,
            "source": "load",
            "label": "private-e4f2e01c",
            "report": None,
        },
        "series": {
            "current": {
                "label": "private-e4f2e01c",
                "t_s": t,
                "stale_reads_per_s": [400 + 50 * (s % 7) for s in range(60)],
            },
            "previous": {
                "label": "shared-0badf00d",
                "t_s": t[:40],
                "stale_reads_per_s": [0] * 40,
            },
        },
        "key": {
            "key": "private-e4f2e01c-p6",
            "chosen": "hottest",
            "replicas": price_rows(PRICES),
            "agree": False,
        },
        "upgrade": {"image": "lbdemo/catalog:1.1", "already": False},
    }


# Six replicas' prices for the key: they disagree, and one has nothing.
PRICES = {name: (-1 if i == 1 else 1000 + 100 * i) for i, name in enumerate(REPLICAS)}

EVENT_LINES = [
    "watching a stack with 6 replicas, private storage; balancer http://127.0.0.1:8080",
    *(f"{n} (abc{i}def0123) joined the rotation" for i, n in enumerate(REPLICAS)),
    "lbdemo-r2 (1a9f3c2e81d7) died, exit status 137",
    "lbdemo-r2 left the rotation",
    "lbdemo-r2 replaced: 1a9f3c2e81d7 -> 2b8e4d1f90a6 (fresh container, empty layer)",
    "lbdemo-r2 (2b8e4d1f90a6) joined the rotation",
]
