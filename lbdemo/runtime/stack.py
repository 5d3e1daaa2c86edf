"""The local runtime's stack: containers from images (store, N replicas), one balancer, one daemon.

``Stack(config).start()`` does what ``docker compose up`` would, with lbdemo's own runtime
(:mod:`lbdemo.runtime`): it creates the containers through the
:class:`~lbdemo.containers.containers.ContainerStore`, starts their processes, puts the replicas
behind a balancer and serves the daemon's control API (so ``lbdemo run/stop/kill/upgrade`` work
while it runs). It returns when every replica answered its health check through its ready line;
``stop()`` takes everything down in reverse order and removes the stack's containers with their
layers, as ``docker compose down`` does; named volumes stay. Where the data lives is the
config's :class:`~lbdemo.deploy.layout.Layout`, passed to the runtime unchanged:

* ``private``: replica container ``lbdemo-rK`` runs its own PostgreSQL whose data directory is
  ``/var/lib/postgresql/data`` inside its container layer
  (``<state>/containers/<id>/layer/var/lib/postgresql/data``): deleted with the container.
* ``shared-volume``: one store container ``lbdemo-db`` (image ``lbdemo/postgres:18``) mounts the
  named volume at ``/var/lib/postgresql/data``; the volume outlives the stack.
* ``external``: every replica uses the server given by ``--dsn``; no store container is made.
* ``replicated-async`` / ``replicated-sync``: the store container is the primary; each replica
  container also runs a streaming standby of it in its layer, and reads from that.
* ``shared-datadir``: every replica container mounts the named volume as its PostgreSQL's data
  directory; the second one's server is refused, so ``start`` fails (and stops what it started).

The X-Replica header of every response is the name of the container that served it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

from lbdemo.containers.containers import Container
from lbdemo.containers.fs import ContainerFS
from lbdemo.containers.images import PGDATA_PATH
from lbdemo.containers.mounts import parse_volume_spec
from lbdemo.deploy.admin import BalancerAdmin
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.events import Event
from lbdemo.deploy.host import STACK_FORMAT, HostBalancedStack, start_balancer, write_admin_token
from lbdemo.deploy.layout import Layout
from lbdemo.deploy.live import StoreKill
from lbdemo.deploy.lock import StackLock
from lbdemo.deploy.names import (
    DB_NAME,
    DEFAULT_PROJECT,
    PROJECT,
    PROJECT_LABEL,
    REPLICA_SERVICE,
    SERVICE_LABEL,
    STORE_SERVICE,
)
from lbdemo.deploy.signals import parse_signal
from lbdemo.process.spawn import Child
from lbdemo.runtime.api import ControlServer
from lbdemo.runtime.launch import ContainerProcess
from lbdemo.runtime.supervisor import Runtime
from lbdemo.store.embedded import EmbeddedPostgres
from lbdemo.store.engines import EngineSpec, StoreEngine
from lbdemo.store.factory import make_engine

STORE_IMAGE = "lbdemo/postgres:18"


class Stack(HostBalancedStack):
    """Starts and stops one stack; knows its containers, their pids and URLs."""

    runtime_name = "local"

    def __init__(
        self, config: StackConfig, *, on_event: Callable[[Event], None] | None = None
    ) -> None:
        self.config = config
        self._on_event = on_event  # told of every change once the stack is up
        self.runtime = Runtime(
            config.state_root, config.run_dir, config.layout, on_change=self._changed
        )
        self.runtime.synchronous_standbys = config.replicas  # replicated-sync: every standby
        self.balancer: Child | None = None
        self.control: ControlServer | None = None
        self.started_in_s: float | None = None
        self._lock: StackLock | None = None
        # --store redis|etcd, shared layouts: the stack's one engine (lbdemo's children)
        self.engine: StoreEngine | None = None

    @property
    def local_stack(self) -> Stack:
        return self

    @property
    def live_stack(self) -> Stack:
        return self

    def runtime_report(self) -> dict[str, Any] | None:
        return None  # the local runtime is all there is to say: the report names it

    @property
    def layout(self) -> Layout:
        return self.config.layout

    @property
    def replicas(self) -> list[ContainerProcess]:
        """The running replica containers, in the order they started."""
        return self.runtime.replicas

    @property
    def servers(self) -> list[EmbeddedPostgres]:
        """Every PostgreSQL server the stack runs (store container, or one per replica)."""
        return [p.server for p in self.runtime.procs.values() if p.server is not None]

    # -- what acts on it (lbdemo.deploy.live.LiveStack: the dashboard, the scenarios) --------

    @property
    def events(self) -> list[Event]:
        return self.runtime.events

    @property
    def admin(self) -> BalancerAdmin | None:
        return self.runtime.admin

    async def kill(self, name: str) -> None:
        await self.runtime.kill(name, signal.SIGKILL)

    async def pause(self, name: str) -> None:
        self.runtime.pause(name)

    async def unpause(self, name: str) -> None:
        self.runtime.unpause(name)

    async def kill_store(self, replica: str) -> StoreKill:
        """The store container's PostgreSQL (restarted on its volume), or with private storage
        ``replica``'s own server: the replica dies with it and is replaced, empty."""
        layout = self.layout
        if layout.store_container:
            store = self.runtime.stack_store
            pid = store.server.pid if store and store.server else None
            kill = StoreKill(DB_NAME, f"pid {pid}", "restart", DB_NAME)
        elif layout.store_per_replica:
            proc = next(r for r in self.replicas if r.name == replica)
            pid = proc.server.pid if proc.server else None
            kill = StoreKill(f"{replica}'s own PostgreSQL", f"pid {pid}", "replace", replica)
        else:
            return StoreKill("", "skipped: external server")
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return kill

    async def upgrade(self, image: str, progress: Callable[[str], None]) -> list[dict[str, Any]]:
        return list(await self.runtime.upgrade(image, progress))

    async def copy_into(self, name: str, path: str, data: bytes) -> None:
        """``lbdemo cp``: the file written through the container's filesystem (its layer, or
        a mount there)."""
        with ContainerFS(self.runtime.store.get(name)).open(path, "wb") as out:
            out.write(data)

    async def signal(self, name: str, signal: str) -> None:
        await self.runtime.kill(name, parse_signal(signal))

    async def run_replica(self, name: str, binds: Mapping[str, str]) -> ContainerProcess:
        """``lbdemo run -d --name NAME -v HOST:PATH IMAGE``: joins the rotation."""
        mounts = [parse_volume_spec(f"{host}:{path}") for host, path in binds.items()]
        return await self.runtime.run(
            self.config.image,
            name,
            mounts,
            labels={PROJECT_LABEL: PROJECT, SERVICE_LABEL: REPLICA_SERVICE},
            restart=self.config.restart,
        )

    async def start(self) -> None:
        """Take the state root's stack lock, then start everything; on any failure, stop what
        was started. Without the lock nothing is cleaned, created or started."""
        began = time.monotonic()
        config = self.config
        config.run_dir.mkdir(parents=True, exist_ok=True)
        config.run_dir.chmod(0o700)  # tokens, pids, ports and logs: this user's business only
        self._lock = StackLock.acquire(config.run_dir / "stack.lock", config.state_root)
        try:
            self._remove_leftovers()
            if config.layout.store_container:
                await self._start_store()
            if config.layout.engine_shared:
                await self._start_engine()
            containers = [
                self._create_replica(DEFAULT_PROJECT.replica_name(k))
                for k in range(1, config.replicas + 1)
            ]
            await self._launch_replicas(containers)
            self.balancer = await self._start_balancer()
            admin_url = self.admin_url
            assert admin_url is not None
            self.runtime.admin = BalancerAdmin(admin_url, config.admin_token)
            self._write_admin_token()
            self.control = ControlServer(self.runtime, config.run_dir)
            await self.control.start()
        except BaseException:
            await self.stop()
            raise
        self.started_in_s = time.monotonic() - began
        self._write_state_file()

    def _write_admin_token(self) -> None:
        write_admin_token(self.admin_token_file, self.config.admin_token)

    def _remove_leftovers(self) -> None:
        """A stack killed before its ``down`` left records (and maybe processes): clear them,
        and containers that hold a stack name (a store replaced by hand with ``lbdemo run``).
        Only ever called with the stack lock held: no other stack can be using them."""
        store = self.runtime.store
        for container in store.list(all=True):
            ours = container.labels.get(PROJECT_LABEL) == PROJECT
            if ours or DEFAULT_PROJECT.is_stack_name(container.name):
                store.remove(container.id, force=True)

    async def _start_store(self) -> None:
        mount = parse_volume_spec(f"{self.config.layout.volume}:{PGDATA_PATH}")
        container = self.runtime.create(
            STORE_IMAGE,
            DB_NAME,
            [mount],
            {PROJECT_LABEL: PROJECT, SERVICE_LABEL: STORE_SERVICE},
            # A store is no cattle: restarted as itself (its data is on the volume anyway).
            restart="always" if self.config.restart != "no" else "no",
        )
        await self.runtime.launch(container)

    async def _start_engine(self) -> None:
        """The stack's Redis or etcd, data on the named volume (made if missing), before any
        replica: every replica is handed one of its URLs (:meth:`StoreEngine.store_url`)."""
        from lbdemo.containers.volumes import VolumeStore

        layout = self.config.layout
        assert layout.volume is not None
        volume = VolumeStore(self.config.state_root).create(layout.volume, labels={})
        self.engine = make_engine(
            EngineSpec(
                kind=layout.store,
                layout="replicated-async" if layout.name == "replicated-async" else "shared",
                data_dir=volume.mountpoint,
                log_dir=self.config.run_dir,
                name=DB_NAME,
                password=self.runtime.launcher.engine_password,
                readers=self.config.replicas,
                apply_delay_ms=layout.apply_delay_ms,
                read_mode=layout.read_mode or "linearizable",
            )
        )
        await self.engine.start()  # a failed start stops what it started (stop() below too)
        self.runtime.launcher.shared_engine = self.engine

    async def _launch_replicas(self, containers: list[Container]) -> None:
        """Together, and every launch finished (or failed) before a failure is raised: a launch
        still under way when ``stop`` runs would leave its processes behind. With
        ``shared-datadir`` one by one: each server must see the one before holding the data
        directory (and be refused by PostgreSQL), never race it."""
        if self.config.layout.replicas_share_datadir:
            for container in containers:
                await self.runtime.launch(container)
            return
        results = await asyncio.gather(
            *(self.runtime.launch(c) for c in containers), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _create_replica(self, name: str) -> Container:
        mounts = []
        if self.config.layout.replicas_share_datadir:
            # the seed's drawing: every replica's PostgreSQL on the one volume
            mounts.append(parse_volume_spec(f"{self.config.layout.volume}:{PGDATA_PATH}"))
        return self.runtime.create(
            self.config.image,
            name,
            mounts,
            labels={PROJECT_LABEL: PROJECT, SERVICE_LABEL: REPLICA_SERVICE},
            restart=self.config.restart,
        )

    async def _start_balancer(self) -> Child:
        return await start_balancer(self.config, [(r.name, r.url) for r in self.replicas])

    async def stop(self) -> None:
        """Daemon API, balancer (no new requests), replicas, stores; then the containers go.
        A stack that never took the lock stops nothing: what runs belongs to another stack."""
        if self._lock is None:
            return
        if self.control is not None:
            await self.control.stop()
            self.control = None
        if self.balancer is not None:
            await self.balancer.stop()
            self.balancer = None
        admin = self.runtime.admin
        await self.runtime.close()
        if self.engine is not None:  # after the replicas: none of them is left to use it
            await self.engine.stop()
            self.engine = None
        if admin is not None:
            await admin.close()
        self._remove_leftovers()
        self._remove_state_files()
        self._lock.release()
        self._lock = None

    def describe(self) -> dict[str, Any]:
        """What ``up`` prints and ``stack.json`` records: URLs, pids, containers, data."""
        config = self.config
        store: dict[str, Any] = config.layout.describe()
        db = self.runtime.stack_store
        if config.layout.store_container:
            store |= {
                "container": DB_NAME,
                "id": db.id if db else None,
                "pid": db.pid if db else None,
                "data": str(config.volume_data_dir()),
            }
        if self.engine is not None:
            store |= {"engine": self.engine.describe(), "data": str(config.volume_data_dir())}
        return {
            "format": STACK_FORMAT,
            "pid": os.getpid(),
            "layout": store,
            "balancer": self._balancer_description(),
            "replicas": [r.describe() for r in self.replicas],
            "daemon": {
                "url": self.control.url if self.control else None,
                "file": str(config.run_dir / "daemon.json"),
            },
            "started_in_s": round(self.started_in_s or 0.0, 3),
            "config": config.describe(),
        }

    def _changed(self, event: Event) -> None:
        if self.balancer is not None and self.started_in_s is not None:
            self._write_state_file()
            if self._on_event is not None:
                self._on_event(event)
