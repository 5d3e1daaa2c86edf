"""A running local container: its record, its processes, where it serves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lbdemo.containers.containers import Container
from lbdemo.deploy.names import DB_NAME
from lbdemo.process.spawn import Child
from lbdemo.store.embedded import EmbeddedPostgres
from lbdemo.store.engines import StoreEngine


def exit_status(returncode: int | None) -> int:
    """A process's status as Docker shows it: death by signal N is ``128 + N`` (137: SIGKILL)."""
    if returncode is None:
        return -1
    return 128 - returncode if returncode < 0 else returncode


@dataclass
class ContainerProcess:
    """A running container: its record, its processes, where it serves."""

    container: Container
    child: Child | None  # the replica process; None for a store container
    server: EmbeddedPostgres | None  # its PostgreSQL: private store, or the store container's own
    store_dsn: str = ""
    # --store redis|etcd, private: the replica's own engine, started and stopped with it
    engine: StoreEngine | None = None
    stopping: bool = False
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.container.id

    @property
    def name(self) -> str:
        return self.container.name

    @property
    def image(self) -> str:
        return self.container.image

    @property
    def is_replica(self) -> bool:
        return self.child is not None

    @property
    def url(self) -> str:
        if self.child is None:
            return ""
        return str(self.child.ready["url"])

    @property
    def pid(self) -> int:
        if self.child is not None:
            return self.child.pid
        return self.server.pid or 0 if self.server else 0

    @property
    def store_processes(self) -> list[asyncio.subprocess.Process]:
        """The container's store servers' processes: its PostgreSQL, or its own engine's."""
        found = [self.server.process] if self.server and self.server.process else []
        return found + (self.engine.processes if self.engine is not None else [])

    def describe(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "name": self.name,
            "image": self.image,
            "url": self.url,
            "pid": self.pid,
            "data": str(self.server.pgdata) if self.server and self.child else None,
            "store_pid": self.server.pid if self.server and self.child else None,
        }
        if self.child is not None and "store" in self.child.ready:
            # what the replica said serves it: the store kind and the read mode
            out["store"] = self.child.ready["store"]
            out["read_mode"] = self.child.ready.get("read_mode")
        if self.engine is not None:
            out["engine"] = self.engine.describe()
            processes = self.engine.processes
            out["store_pid"] = processes[0].pid if processes else None
        return out


def stack_store_of(procs: Iterable[ContainerProcess]) -> ContainerProcess | None:
    """The stack's own store container among ``procs``, if it runs (never one a user started by
    hand)."""
    return next((p for p in procs if not p.is_replica and _is_stack_store(p.container)), None)


def _is_stack_store(container: Container) -> bool:
    # By name, as compose finds a service: a store replaced by hand under the same name (on the
    # same volume, given the same port) is the stack's store; a second one under another name
    # never is, so replicas cannot split between two databases.
    return container.name == DB_NAME
