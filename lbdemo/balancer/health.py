"""Active health checks: ``GET /healthz`` on every replica each interval, with rise/fall thresholds.

A replica goes down after ``fall`` failed checks in a row and comes back after ``rise`` passes.
Passive ejection (a failed connect on the data path) takes it down at once; only these checks
(or, without them, a cooldown) bring it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from lbdemo.balancer.config import BalancerConfig
from lbdemo.balancer.pool import Replica, ReplicaSet

log = logging.getLogger(__name__)


async def probe(host: str, port: int, path: str, timeout: float) -> bool:
    """True when ``GET path`` answers 2xx within ``timeout`` seconds."""
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
                "User-Agent: lbdemo-health\r\n\r\n".encode("latin-1")
            )
            status_line = await reader.readline()
    except (OSError, TimeoutError):
        return False
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 0.5)
    parts = status_line.split(None, 2)
    return len(parts) >= 2 and parts[1][:1] == b"2" and len(parts[1]) == 3


def record(replica: Replica, ok: bool, rise: int, fall: int) -> None:
    """Apply one check result to the replica's rise/fall counters and health."""
    if ok:
        replica.fails = 0
        replica.passes += 1
        if not replica.healthy and replica.passes >= rise:
            replica.set_healthy(True)
            log.info("replica %s is up", replica.name)
    else:
        replica.passes = 0
        replica.fails += 1
        if replica.healthy and replica.fails >= fall:
            replica.set_healthy(False)
            log.warning("replica %s is down", replica.name)


class HealthChecker:
    """Runs the checks of one balancer until stopped."""

    def __init__(self, replicas: ReplicaSet, config: BalancerConfig) -> None:
        self._replicas = replicas
        self._config = config
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._config.health_interval > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def check_all(self) -> None:
        config = self._config
        members = list(self._replicas)
        results = await asyncio.gather(
            *(probe(r.host, r.port, config.health_path, config.health_timeout) for r in members)
        )
        for replica, ok in zip(members, results, strict=True):
            if not replica.removed:
                record(replica, ok, config.rise, config.fall)

    async def _run(self) -> None:
        while True:
            await self.check_all()
            await asyncio.sleep(self._config.health_interval)
