"""The nemesis: faults injected into a running stack, one at a time, each one healed.

Each fault has an ``inject`` and a ``heal``; the time between the two is the fault's *active*
period. What heals a fault is what would heal it in production:

* ``kill-replica``: ``kill -9`` of a replica container; healed when the supervisor has replaced
  it (restart policy ``replace``: a fresh container under the same name joined the rotation);
* ``pause-replica``: SIGSTOP of a replica container's processes, SIGCONT to heal (on the Docker
  runtime ``docker pause`` and ``docker unpause`` themselves: the engine's freezer);
* ``kill-store``: ``kill -9`` of PostgreSQL: the shared store ``lbdemo-db`` (restarted by the
  supervisor on the same volume), or with private storage one replica's own server (locally the
  replica dies with it and is replaced, with an empty layer; on Docker its own store container
  ``lbdemo-db-rK`` is started again as itself); healed when it is back;
* ``latency``: every answer of one replica delayed (the fault proxy in front of it: Docker has
  no such fault of its own);
* ``reset``: every connection to that replica reset (the same proxy).

Each fault is done by the stack (:class:`~lbdemo.deploy.live.LiveStack`) with its runtime's own
mechanism; what healed it is read from the stack's events.

Targets are fixed by position so that faults never interfere: the first replica is killed, the
second paused (and with private storage its server is the one killed), the last one sits behind
the proxy from :meth:`Nemesis.start` on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from lbdemo.deploy.admin import BalancerAdmin
from lbdemo.deploy.live import LiveStack
from lbdemo.errors import ProcessError, StateError, UsageError
from lbdemo.faults.proxy import FaultProxy

FAULTS = ("kill-replica", "pause-replica", "kill-store", "latency", "reset")
LATENCY_S = 0.2  # below the balancer's health check timeout (1 s): slow, not ejected
HEAL_TIMEOUT_S = 30.0
SETTLE_TIMEOUT_S = 10.0


@dataclass
class Injected:
    """One fault as it happened: what, on which container, when (monotonic seconds)."""

    fault: str
    target: str
    start: float
    end: float = 0.0
    note: str = ""
    events_mark: int = 0  # the runtime's events before the fault: what healed it comes after
    heal_event: str = ""  # the event (for the container heal_name) that says it is back
    heal_name: str = ""


class Nemesis:
    """Injects and heals faults on one running stack."""

    def __init__(self, stack: LiveStack) -> None:
        if len(stack.replicas) < 3:
            raise UsageError("the fault schedule needs at least 3 replicas (--replicas 3)")
        self.stack = stack
        names = [r.name for r in stack.replicas]
        self.kill_target, self.pause_target, self.proxied = names[0], names[1], names[-1]
        self.proxy: FaultProxy | None = None

    @property
    def proxy_url(self) -> str:
        return self.proxy.url if self.proxy is not None else ""

    async def start(self) -> None:
        """Put the last replica behind the fault proxy (before the load: nothing in flight)."""
        replica = next(r for r in self.stack.replicas if r.name == self.proxied)
        url = urlsplit(replica.url)
        assert url.hostname is not None and url.port is not None
        self.proxy = await FaultProxy(url.hostname, url.port).start()
        try:
            admin = self._admin()
            await admin.remove(self.proxied)
            await admin.add(self.proxied, self.proxy.url)
        except BaseException:
            await self.close()
            raise

    def _admin(self) -> BalancerAdmin:
        admin = self.stack.admin
        if admin is None:
            raise StateError("the stack has no balancer admin API")
        return admin

    async def close(self) -> None:
        if self.proxy is not None:
            self.proxy.heal()
            await self.proxy.close()
            self.proxy = None

    async def inject(self, fault: str) -> Injected:
        mark = len(self.stack.events)
        began = time.monotonic()  # before the signal: a request cut by it is this fault's
        injected = await self._inject(fault)
        injected.events_mark = mark
        injected.start = began
        return injected

    async def _inject(self, fault: str) -> Injected:
        stack = self.stack
        now = time.monotonic
        if fault == "kill-replica":
            await stack.kill(self.kill_target)
            return Injected(fault, self.kill_target, now())
        if fault == "pause-replica":
            await stack.pause(self.pause_target)
            return Injected(fault, self.pause_target, now())
        if fault == "kill-store":
            kill = await stack.kill_store(self.pause_target)
            injected = Injected(fault, kill.target, now(), note=kill.note)
            injected.heal_event, injected.heal_name = kill.heal_event, kill.heal_name
            return injected
        assert self.proxy is not None, "start() first"
        if fault == "latency":
            self.proxy.latency(LATENCY_S)
            return Injected(fault, self.proxied, now(), note=f"{LATENCY_S * 1000:.0f} ms")
        if fault == "reset":
            self.proxy.reset()
            return Injected(fault, self.proxied, now())
        raise UsageError(f"unknown fault {fault!r}")

    async def settled(self, timeout_s: float = SETTLE_TIMEOUT_S) -> bool:
        """Until every replica is back in the balancer's rotation and healthy (so that the next
        fault does not inherit this one's failures); False if not within ``timeout_s``."""
        want = len(self.stack.replicas)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                members = await self._admin().replicas()
            except ProcessError:
                members = []
            if len(members) >= want and all(m.get("state") == "up" for m in members):
                return True
            await asyncio.sleep(0.2)
        return False

    async def heal(self, injected: Injected) -> None:
        """Undo the fault, or wait until the supervisor has (bounded); sets ``end``."""
        fault = injected.fault
        try:
            if fault == "kill-replica":
                await self._until(injected, "replace", self.kill_target)
            elif fault == "pause-replica":
                await self.stack.unpause(self.pause_target)
            elif fault == "kill-store" and injected.heal_event:
                await self._until(injected, injected.heal_event, injected.heal_name)
            elif fault in ("latency", "reset") and self.proxy is not None:
                self.proxy.heal()
        finally:
            injected.end = time.monotonic()

    async def _until(self, injected: Injected, event: str, name: str) -> None:
        """Until the runtime reports ``event`` for ``name`` (a replacement that joined the
        rotation, a store restarted), at most HEAL_TIMEOUT_S."""

        def happened() -> bool:
            events = self.stack.events[injected.events_mark :]
            return any(e["event"] == event and e.get("name") == name for e in events)

        if not await wait_for(happened, HEAL_TIMEOUT_S):
            injected.note = f"not back within {HEAL_TIMEOUT_S:.0f} s"


async def wait_for(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True
