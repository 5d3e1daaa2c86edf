"""The balancer's life: ``start()`` (listen, admin API, health checks, sweeper) and ``stop()``.

``stop()`` is graceful: stop accepting, let requests in flight finish (bounded by
``shutdown_grace``), then close what is left and the upstream pools.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from aiohttp import web

from lbdemo.balancer.admin import create_admin_app
from lbdemo.balancer.client import ClientConnection
from lbdemo.balancer.config import BalancerConfig, Upstream
from lbdemo.balancer.context import ProxyContext
from lbdemo.balancer.discovery import Discovery
from lbdemo.balancer.health import HealthChecker
from lbdemo.balancer.metrics import Metrics
from lbdemo.balancer.pool import Replica, ReplicaSet
from lbdemo.balancer.strategy import Strategy, make_strategy
from lbdemo.errors import ProcessError
from lbdemo.process.address import http_url
from lbdemo.process.listener import GuardedAppRunner, ListenerPolicy

log = logging.getLogger(__name__)


class Balancer:
    """An HTTP/1.1 reverse proxy over a set of replicas, with an optional admin API."""

    def __init__(self, config: BalancerConfig) -> None:
        self.config = config
        self.replicas = ReplicaSet(config.upstreams)
        self.strategy: Strategy = make_strategy(
            config.strategy, config.sticky_header, config.sticky_cookie
        )
        self.metrics = Metrics(lambda: self.replicas)
        self.health = HealthChecker(self.replicas, config)
        self.port = 0
        self.admin_port: int | None = None
        self._server: asyncio.AbstractServer | None = None
        self._admin: web.AppRunner | None = None
        self._ctx: ProxyContext | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.discoveries = [
            Discovery(spec, self.replicas, self.remove_replica) for spec in config.discover
        ]
        self._discovering: list[asyncio.Task[None]] = []

    @property
    def url(self) -> str:
        return http_url(self.config.listen_host, self.port)

    @property
    def admin_url(self) -> str | None:
        if self.admin_port is None or self.config.admin_host is None:
            return None
        return http_url(self.config.admin_host, self.admin_port)

    @property
    def connections(self) -> set[ClientConnection]:
        return self._ctx.connections if self._ctx is not None else set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        config = self.config
        ctx = ProxyContext(config, self.replicas, self.strategy, self.metrics, loop)
        self._ctx = ctx
        try:
            self._server = await loop.create_server(
                ctx.accept,
                config.listen_host,
                config.listen_port,
                reuse_address=True,
                backlog=1024,
            )
        except OSError as exc:
            raise ProcessError(
                f"balancer cannot listen on {config.listen_host}:{config.listen_port}: "
                f"{exc.strerror or exc}"
            ) from exc
        sock: socket.socket = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        if config.admin_host is not None and config.admin_token:
            await self._start_admin(config.admin_host, config.admin_port, config.admin_token)
        # The first lookups before start() returns: a ready balancer already has its replicas.
        await asyncio.gather(*(d.refresh() for d in self.discoveries))
        self._discovering = [loop.create_task(self._rediscover(d)) for d in self.discoveries]
        self.health.start()
        self._sweeper = loop.create_task(self._sweep())

    async def _start_admin(self, host: str, port: int, token: str) -> None:
        # The admin port shares the process (and its descriptors) with the data port: the same
        # head deadline and idle timeout, and caps of its own (lbdemo/process/listener.py).
        policy = ListenerPolicy(
            head_timeout=self.config.head_timeout,
            keepalive_timeout=self.config.keepalive_timeout,
        )
        runner = GuardedAppRunner(create_admin_app(self, token), policy=policy, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ProcessError(
                f"admin API cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from exc
        self._admin = runner
        self.admin_port = int(runner.addresses[0][1])

    def _tick(self) -> float:
        c = self.config
        shortest = min(
            c.client_timeout,
            c.head_timeout,
            c.body_timeout,
            c.upstream_timeout,
            c.keepalive_timeout,
        )
        return max(0.05, min(1.0, shortest / 10))

    async def _sweep(self) -> None:
        """Advance the coarse clock, enforce timeouts, retire stale idle upstream connections."""
        ctx = self._ctx
        assert ctx is not None
        loop = asyncio.get_running_loop()
        tick = self._tick()
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            ctx.now = now
            for conn in list(ctx.connections):
                try:
                    conn.check_timeouts(now)
                except Exception:  # one broken connection must not stop the sweeper
                    log.exception("timeout check failed")
                    conn.close()
            stale = now - self.config.pool_idle_timeout
            for replica in self.replicas:
                replica.close_idle(older_than=stale)

    async def _rediscover(self, discovery: Discovery) -> None:
        interval = self.config.discover_interval
        await asyncio.sleep(interval)
        await discovery.run(interval)

    # -- membership, for the admin API and tests -------------------------------------------------

    def add_replica(self, upstream: Upstream) -> Replica:
        return self.replicas.add(upstream)

    async def remove_replica(self, replica: Replica) -> bool:
        """Take ``replica`` out of rotation, let its requests finish, then forget it."""
        replica.set_draining(True)
        drained = await replica.wait_idle(self.config.drain_timeout)
        self.replicas.remove(replica)
        return drained

    # -- stopping ------------------------------------------------------------------------------

    async def stop(self) -> None:
        ctx = self._ctx
        if self._server is not None:
            self._server.close()
        if ctx is not None:
            ctx.closing = True
            for conn in list(ctx.connections):
                conn.shutdown()
            deadline = asyncio.get_running_loop().time() + self.config.shutdown_grace
            while ctx.connections and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
            for conn in list(ctx.connections):
                if conn.transport is not None:
                    conn.transport.abort()
            for task in list(ctx.tasks):
                task.cancel()
        for task in self._discovering:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._discovering = []
        for discovery in self.discoveries:
            await discovery.stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.health.stop()
        for replica in self.replicas:
            replica.close_idle()
        if self._admin is not None:
            await self._admin.cleanup()
            self._admin = None
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None
        # Let transports run their close callbacks before the loop may end.
        await asyncio.sleep(0)
