"""Replicas found by name: one upstream per address a DNS name resolves to, looked up again on a
timer (``--discover NAME=http://HOST:PORT``).

Made for an orchestrator's DNS that answers one name with every running task's address, such as
Docker swarm's ``tasks.SERVICE`` (or any service with ``endpoint_mode: dnsrr``): the balancer
balances per request over the tasks themselves, keeps its own health checks and ejections for
each, and follows the orchestrator as it scales, replaces or reschedules them. The alternative,
one upstream whose name is resolved at every connection, would balance per connection (a pooled
connection keeps its replica) and would see N replicas as one.

Each address found becomes the upstream ``NAME-ADDRESS``; an address no longer in the answer is
drained and removed like ``DELETE /replicas/NAME`` of the admin API does. A lookup that fails
(the DNS server is unreachable, or answers that the name has no address, as swarm's does while a
service has no running task) changes nothing: the health checks take dead replicas out of
rotation, and a transient DNS failure must not empty the balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from lbdemo.balancer.config import Upstream
from lbdemo.balancer.pool import Replica, ReplicaSet

log = logging.getLogger(__name__)

# How long one lookup may take before it counts as failed (the timer goes on).
LOOKUP_TIMEOUT_S = 5.0

Resolve = Callable[[str, int], Awaitable[Iterable[str]]]
Remove = Callable[[Replica], Coroutine[Any, Any, bool]]


async def resolve_all(host: str, port: int) -> list[str]:
    """Every TCP address ``host`` resolves to, sorted, each once."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def member_name(prefix: str, address: str) -> str:
    """``prefix-address``, plain enough for a replica name (an IPv6 address's colons become
    dots)."""
    return f"{prefix}-{re.sub(r'[^A-Za-z0-9_.-]', '.', address)}"


class Discovery:
    """Keeps the members of ``replicas`` that one ``--discover`` made equal to the addresses its
    name resolves to."""

    def __init__(
        self,
        spec: Upstream,
        replicas: ReplicaSet,
        remove: Remove,
        *,
        resolve: Resolve = resolve_all,
    ) -> None:
        self.spec = spec
        self.replicas = replicas
        self._remove = remove
        self._resolve = resolve
        self._ours: dict[str, Replica] = {}  # address -> the member made for it
        self._removing: set[asyncio.Task[bool]] = set()
        self._failing = False  # a failed lookup is logged once, until one succeeds again

    async def refresh(self) -> bool:
        """One lookup and the changes it implies; False when the lookup failed (nothing
        changed)."""
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT_S):
                found = set(await self._resolve(self.spec.host, self.spec.port))
        except (OSError, TimeoutError) as exc:  # socket.gaierror is an OSError
            if not self._failing:
                reason = str(exc) or type(exc).__name__
                log.warning("discover %s: lookup failed: %s", self.spec.host, reason)
            self._failing = True
            return False
        if self._failing:
            log.warning("discover %s: lookups answer again", self.spec.host)
        self._failing = False
        for address in sorted(found - self._ours.keys()):
            name = member_name(self.spec.name, address)
            upstream = Upstream(name=name, host=address, port=self.spec.port)
            self._ours[address] = self.replicas.add(upstream)
            log.info("discover %s: added %s (%s)", self.spec.host, name, upstream.url)
        for address in sorted(self._ours.keys() - found):
            replica = self._ours.pop(address)
            log.info("discover %s: removing %s", self.spec.host, replica.name)
            # drained in the background: the next lookups do not wait for its requests
            task = asyncio.get_running_loop().create_task(self._remove(replica))
            self._removing.add(task)
            task.add_done_callback(self._removing.discard)
        return True

    async def run(self, interval: float) -> None:
        """Look up now, then every ``interval`` seconds, until cancelled."""
        while True:
            await self.refresh()
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        for task in list(self._removing):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
