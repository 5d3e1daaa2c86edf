"""What every client connection of one balancer shares: :class:`ProxyContext`.

It holds the configuration, the membership, the strategy and the metrics, hands each new client
socket its protocol (served, or refused at the caps), and opens connections to replicas.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from lbdemo.balancer.client import ClientConnection
from lbdemo.balancer.pool import Replica, ReplicaSet
from lbdemo.balancer.refused import RefusedConnection
from lbdemo.balancer.upstream import UpstreamConnection

if TYPE_CHECKING:
    from lbdemo.balancer.config import BalancerConfig
    from lbdemo.balancer.metrics import Metrics
    from lbdemo.balancer.strategy import Strategy

log = logging.getLogger(__name__)


class ProxyContext:
    """What every connection of one balancer shares: config, membership, strategy, metrics."""

    # Slots on the classes of the data path: their attributes are read on every request.
    __slots__ = (
        "closing",
        "config",
        "connections",
        "fast_requests",
        "key_from",
        "loop",
        "max_body",
        "max_connections",
        "max_header",
        "max_per_client",
        "max_pipeline",
        "metrics",
        "now",
        "per_client",
        "pool_max_idle",
        "replicas",
        "sticky_cookie",
        "sticky_header",
        "strategy",
        "tasks",
    )

    def __init__(
        self,
        config: BalancerConfig,
        replicas: ReplicaSet,
        strategy: Strategy,
        metrics: Metrics,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.config = config
        self.replicas = replicas
        self.strategy = strategy
        self.metrics = metrics
        self.loop = loop
        self.connections: set[ClientConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        # A coarse clock, advanced by the timeout sweeper: cheap enough to read per request.
        self.now = loop.time()
        self.max_header = config.max_header_bytes
        self.max_body = config.max_body_bytes
        self.max_connections = config.max_connections
        self.max_per_client = config.max_connections_per_client
        # Open connections per client address (only addresses with one or more).
        self.per_client: dict[bytes, int] = {}
        self.max_pipeline = config.max_pipeline
        self.pool_max_idle = config.pool_max_idle
        sticky_header = getattr(strategy, "header", None)
        sticky_cookie = getattr(strategy, "cookie", None)
        self.sticky_header: bytes | None = sticky_header
        self.sticky_cookie: bytes | None = sticky_cookie
        self.key_from = getattr(strategy, "key_from", None)
        # Sticky strategies read a header or cookie of every request: those take the parser.
        self.fast_requests = sticky_header is None and sticky_cookie is None

    def accept(self) -> asyncio.Protocol:
        """The protocol for a new client socket: served, or refused when at the cap."""
        if len(self.connections) >= self.max_connections:
            return RefusedConnection(self)
        return ClientConnection(self)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def open_connection(self, replica: Replica) -> UpstreamConnection:
        """A new connection to ``replica``; raises OSError or TimeoutError."""
        _, conn = await asyncio.wait_for(
            self.loop.create_connection(
                lambda: UpstreamConnection(replica, self), replica.host, replica.port
            ),
            self.config.connect_timeout,
        )
        return conn

    def connect_failed(self, replica: Replica) -> None:
        """Passive ejection: a replica we cannot connect to leaves the rotation at once."""
        replica.errors += 1
        if not self.config.passive_ejection or not replica.healthy:
            return
        replica.set_healthy(False)
        replica.passes = 0
        log.warning("replica %s ejected: connect failed", replica.name)
        if self.config.health_interval <= 0:
            # Nobody checks actively, so give it another chance later.
            self.loop.call_later(self.config.passive_cooldown, _readmit, replica)


def _readmit(replica: Replica) -> None:
    if not replica.removed:
        replica.set_healthy(True)
