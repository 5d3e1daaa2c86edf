"""Replicas and membership: who is in rotation, in what state, with which idle connections.

A :class:`Replica` is plain state on one event loop (no locks): counters the admin API shows, the
health verdict, the draining flag, and a LIFO stack of idle keep-alive connections (the most
recently used connection is the one least likely to have been closed by the replica).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lbdemo.balancer.config import Upstream
from lbdemo.balancer.heads import ResponseScanner

if TYPE_CHECKING:
    from lbdemo.balancer.upstream import UpstreamConnection


class Replica:
    """One upstream replica and its connection pool."""

    __slots__ = (
        "available",
        "draining",
        "errors",
        "fails",
        "healthy",
        "host",
        "idle",
        "idle_waiters",
        "in_flight",
        "name",
        "passes",
        "port",
        "removed",
        "requests",
        "scanner",
        "upstream",
    )

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.name = upstream.name
        self.host = upstream.host
        self.port = upstream.port
        self.healthy = True
        self.draining = False
        self.removed = False
        # Read on every pick, so it is kept precomputed rather than derived each time.
        self.available = True
        self.in_flight = 0
        self.requests = 0
        self.errors = 0
        self.passes = 0  # consecutive successful health checks
        self.fails = 0  # consecutive failed health checks
        self.idle: list[UpstreamConnection] = []
        self.idle_waiters: list[asyncio.Future[None]] = []
        # Shared by this replica's connections: its responses look alike, whichever carried them.
        self.scanner = ResponseScanner()

    @property
    def url(self) -> str:
        return self.upstream.url

    @property
    def state(self) -> str:
        if self.draining:
            return "draining"
        return "up" if self.healthy else "down"

    def _update(self) -> None:
        self.available = self.healthy and not self.draining and not self.removed

    def set_healthy(self, healthy: bool) -> None:
        self.healthy = healthy
        self._update()

    def set_draining(self, draining: bool) -> None:
        self.draining = draining
        self._update()

    def mark_removed(self) -> None:
        self.removed = True
        self.draining = True
        self._update()

    # -- in-flight accounting ----------------------------------------------------------------------

    def end(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0 and self.idle_waiters:
            self.wake_idle_waiters()

    def wake_idle_waiters(self) -> None:
        for fut in self.idle_waiters:
            if not fut.done():
                fut.set_result(None)
        self.idle_waiters.clear()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight; False when ``timeout`` passed first."""
        if self.in_flight == 0:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.idle_waiters.append(fut)
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return False
        return True

    # -- the idle connection pool ------------------------------------------------------------------

    def take_idle(self) -> UpstreamConnection | None:
        idle = self.idle
        while idle:
            conn = idle.pop()
            if not conn.closed and not conn.transport.is_closing():  # type: ignore[union-attr]
                return conn
        return None

    def give_back(self, conn: UpstreamConnection, max_idle: int) -> None:
        if self.removed or len(self.idle) >= max_idle:
            conn.close()
        else:
            self.idle.append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)

    def close_idle(self, older_than: float | None = None) -> None:
        """Close idle connections (all, or those idle since before ``older_than``)."""
        keep: list[UpstreamConnection] = []
        for conn in self.idle:
            if older_than is None or conn.idle_since < older_than:
                conn.close()
            else:
                keep.append(conn)
        self.idle[:] = keep

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "state": self.state,
            "in_flight": self.in_flight,
            "requests": self.requests,
            "errors": self.errors,
        }


class ReplicaSet:
    """The ordered membership the strategies pick from; order is insertion order."""

    def __init__(self, upstreams: tuple[Upstream, ...] = ()) -> None:
        self.members: list[Replica] = [Replica(u) for u in upstreams]

    def __iter__(self) -> Iterator[Replica]:
        return iter(list(self.members))

    def __len__(self) -> int:
        return len(self.members)

    def get(self, name: str) -> Replica | None:
        for replica in self.members:
            if replica.name == name:
                return replica
        return None

    def add(self, upstream: Upstream) -> Replica:
        replica = Replica(upstream)
        # A new list, not an in-place append: a strategy iterating the old one is undisturbed.
        self.members = [*self.members, replica]
        return replica

    def remove(self, replica: Replica) -> None:
        replica.mark_removed()
        self.members = [r for r in self.members if r is not replica]
        replica.close_idle()
