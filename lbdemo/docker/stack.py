"""The Docker runtime's stack: the local :class:`~lbdemo.runtime.stack.Stack`, as real containers
of a Docker Engine.

``DockerStack(config).start()`` does what ``docker compose up`` would, through the Engine API:

* a user-defined bridge network ``<project>``, so replicas reach their store by container name;
* ``private``: one store container ``<project>-db-rK`` per replica, *without* a volume: its
  PostgreSQL's data is in that container's writable layer, and ``docker rm`` takes it away;
* ``shared-volume``: one store container ``<project>-db`` whose data directory is the named
  volume ``layout.volume`` (made if missing, never removed here: volumes outlive the stack, as
  with ``docker compose down``; the engine refuses ``docker volume rm`` while it is in use);
* replicas ``<project>-r1..N`` (their X-Replica is the container name), each publishing port
  8000 on 127.0.0.1 only, at a port the engine picks;
* the balancer on this host, as the local runtime runs it, with those published ports as its
  upstreams, once every replica answered ``/healthz`` through its published port.

The store's password (the state root's secret) is copied into each container as a file
readable by the container's user only, before the container starts
(:func:`~lbdemo.docker.containers.put_secret`): never on a command line, never in ``docker
inspect``'s environment.

Restart policies are lbdemo's, applied by :class:`~lbdemo.docker.supervisor.Supervisor` from the
engine's ``die`` events (as Swarm applies a service's to its tasks), not Docker's own: Docker
treats ``docker kill`` as a manual stop and does not restart even a ``--restart always``
container after it (see docs/lessons.md). ``always`` starts the *same* container again (same id,
its layer kept), ``replace`` removes it and creates a new one under its name (new id, empty
layer), ``no`` leaves it dead. Either way the replica leaves the balancer's rotation when it dies
and joins again, at its new published port, once healthy.

``stop()`` stops the balancer, the replicas, the stores, and removes the containers and the
network it made, also after a partial start. Leftovers of a killed earlier run of the same
project are removed at start, with the state root's stack lock held; a project whose containers
another state root's live stack runs (its lock held) is refused instead. Containers do not die
with a killed ``lbdemo``: they run on until that next start, or ``docker rm -f``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lbdemo.config import docker_image_from_env
from lbdemo.deploy.admin import BalancerAdmin
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.events import Event
from lbdemo.deploy.host import STACK_FORMAT, HostBalancedStack, start_balancer, write_admin_token
from lbdemo.deploy.layout import Layout
from lbdemo.deploy.live import StoreKill
from lbdemo.deploy.lock import StackLock
from lbdemo.deploy.names import STATE_ROOT_LABEL, Project
from lbdemo.deploy.signals import parse_signal
from lbdemo.docker.containers import Engine, container_pid, one_file_tar, published_url
from lbdemo.docker.supervisor import Supervisor
from lbdemo.docker.verbs import DockerBackend
from lbdemo.errors import StateError
from lbdemo.process.spawn import Child
from lbdemo.store.secret import load_or_create_secret

if TYPE_CHECKING:
    from docker.models.containers import Container


@dataclass
class DockerReplica:
    """One replica container as the pipeline and ``up`` see it."""

    name: str
    id: str
    url: str  # through its published port on 127.0.0.1
    image: str
    pid: int

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "image": self.image,
            "url": self.url,
            "pid": self.pid,
            "data": None,
            "store_pid": None,
        }


class DockerStack(HostBalancedStack):
    """Starts and stops one stack on a Docker Engine; knows its containers and URLs."""

    runtime_name = "docker"

    def __init__(
        self,
        config: StackConfig,
        *,
        on_event: Callable[[Event], None] | None = None,
        client: Any = None,
        image: str | None = None,
    ) -> None:
        self.config = config
        self.project = Project(config.project, str(config.state_root))
        self._on_event = on_event
        self._client = client
        self.engine: Engine | None = None
        # the image the containers run: given, or $LBDEMO_DOCKER_IMAGE, or ensure_image's tag
        self.image = image or docker_image_from_env()
        self.balancer: Child | None = None
        self.admin: BalancerAdmin | None = None
        self.supervisor: Supervisor | None = None
        self.started_in_s: float | None = None
        self.image_ready_s: float | None = None
        self.runtime_info: dict[str, Any] | None = None
        self.events: list[Event] = []
        self._replicas: dict[str, DockerReplica] = {}  # by name, in start order
        self._store_ids: dict[str, tuple[str, int]] = {}  # store container -> (id, pid)
        self._lock: StackLock | None = None
        self._claimed = False

    # -- reading -----------------------------------------------------------------------------

    @property
    def local_stack(self) -> None:
        return None  # the engine's containers: no local process handles

    @property
    def live_stack(self) -> DockerStack:
        return self

    @property
    def layout(self) -> Layout:
        return self.config.layout

    def runtime_report(self) -> dict[str, Any] | None:
        """The engine's version and the image (tag and id) the containers ran."""
        return self.runtime_info

    @property
    def replicas(self) -> Sequence[DockerReplica]:
        """The replicas in the rotation, in the order they started."""
        return list(self._replicas.values())

    # -- starting ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the state root's stack lock, make sure of the image, then start everything; on
        any failure (or cancellation) stop what was started."""
        config = self.config
        config.run_dir.mkdir(parents=True, exist_ok=True)
        config.run_dir.chmod(0o700)
        self._lock = StackLock.acquire(config.run_dir / "stack.lock", config.state_root)
        try:
            self.engine = Engine(self._client or await asyncio.to_thread(_connect))
            began = time.monotonic()
            if self.image is None:
                self.image = await self.engine.call(
                    _ensure_image, self.engine.client, config.state_root
                )
            self.image_ready_s = time.monotonic() - began
            self.runtime_info = await self.engine.call(self._runtime_info)
            began = time.monotonic()
            await self._start_everything()
        except BaseException:
            await self.stop()
            raise
        self.started_in_s = time.monotonic() - began
        self._write_state_file()

    def _runtime_info(self) -> dict[str, Any]:
        """What a report says about what ran the containers: the engine, the image."""
        assert self.engine is not None and self.image is not None
        client = self.engine.client
        version = client.version()
        return {
            "engine": version.get("Version"),
            "api_version": version.get("ApiVersion"),
            "image": self.image,
            "image_id": client.images.get(self.image).id,
            "project": self.project.name,
            # making sure of the image (a build when the tree changed): not in the start time
            "image_ready_s": round(self.image_ready_s or 0.0, 3),
        }

    async def _start_everything(self) -> None:
        engine, project, config = self.engine, self.project, self.config
        assert engine is not None and self.image is not None
        await engine.call(self._claim_project)
        self._claimed = True  # from here on, what the project has is ours to remove
        await engine.call(engine.remove_project, project)
        await engine.call(engine.create_network, project)
        password = load_or_create_secret(config.state_root)
        names = [project.replica_name(k) for k in range(1, config.replicas + 1)]
        stores = await self._start_stores(names, password)
        containers = await asyncio.gather(
            *(
                engine.call(engine.run_replica, project, self.image, n, stores[n], password)
                for n in names
            )
        )
        replicas = await asyncio.gather(*(self._healthy_replica(c) for c in containers))
        self._replicas = {r.name: r for r in replicas}
        self.balancer = await start_balancer(config, [(r.name, r.url) for r in replicas])
        admin_url = self.admin_url
        assert admin_url is not None
        self.admin = BalancerAdmin(admin_url, config.admin_token)
        write_admin_token(self.admin_token_file, config.admin_token)
        self.supervisor = Supervisor(self, engine)
        self.supervisor.start()

    async def _start_stores(self, names: list[str], password: str) -> dict[str, str]:
        """The store containers, together, until each is ready; which store each replica's DSN
        names (by container name)."""
        engine, project, config = self.engine, self.project, self.config
        assert engine is not None and self.image is not None
        if config.layout.store_per_replica:
            stores = {name: project.private_store_name(name) for name in names}
            await asyncio.gather(
                *(
                    engine.call(
                        engine.run_store,
                        project,
                        self.image,
                        stores[n],
                        password,
                        volume=None,
                        replica=n,
                    )
                    for n in names
                )
            )
        else:
            assert config.layout.volume is not None
            await engine.call(
                engine.ensure_volume, project, config.layout.volume, adopt=config.adopt_volume
            )
            await engine.call(
                engine.run_store,
                project,
                self.image,
                project.store_name,
                password,
                volume=config.layout.volume,
            )
            stores = dict.fromkeys(names, project.store_name)
        ready = await asyncio.gather(
            *(engine.wait_store_ready(s) for s in sorted(set(stores.values())))
        )
        self._store_ids = {c.name: (c.id, container_pid(c)) for c in ready}
        return stores

    def _claim_project(self) -> None:
        """The project's containers are leftovers to remove, unless a live stack of another
        state root runs them (its stack lock held): then this start is refused, not theirs
        destroyed. Our own state root's lock is ours already."""
        assert self.engine is not None
        mine = str(self.config.state_root)
        for container in self.project.containers(self.engine.client):
            other = (container.labels or {}).get(STATE_ROOT_LABEL)
            if other and other != mine and StackLock.held(Path(other) / "run" / "stack.lock"):
                raise StateError(
                    f"the Docker project {self.project.name} is in use by the stack of {other}: "
                    f"stop it (lbdemo down --state {other}) or give this one another --project"
                )

    async def _healthy_replica(self, container: Container) -> DockerReplica:
        assert self.engine is not None and self.image is not None
        await self.engine.call(container.reload)
        url = published_url(container)
        await self.engine.wait_healthy(container, url)
        image = str(container.attrs["Config"].get("Image") or self.image)  # an upgrade's own
        return DockerReplica(container.name, container.id, url, image, container_pid(container))

    # -- what the supervisor changes ---------------------------------------------------------

    def replica_named(self, name: str) -> DockerReplica | None:
        return self._replicas.get(name)

    def store_id(self, name: str) -> str | None:
        known = self._store_ids.get(name)
        return known[0] if known else None

    def set_store(self, container: Container) -> None:
        self._store_ids[container.name] = (container.id, container_pid(container))

    def forget_store(self, name: str) -> None:
        self._store_ids.pop(name, None)

    def forget_replica(self, name: str) -> None:
        self._replicas.pop(name, None)
        self._changed()

    async def admit_replica(self, container: Container) -> DockerReplica:
        """A (re)started replica: healthy through its published port (re-read: it changes on
        every start), then into the rotation."""
        replica = await self._healthy_replica(container)
        if self.admin is not None:
            await self.admin.add(replica.name, replica.url)
        self._replicas[replica.name] = replica
        self.event("join", name=replica.name, url=replica.url)
        return replica

    def event(self, kind: str, **fields: Any) -> None:
        event = {"event": kind, **fields}
        self.events.append(event)
        if self._on_event is not None and self.started_in_s is not None:
            self._on_event(event)
        self._changed()

    # -- what acts on it (lbdemo.deploy.live.LiveStack: the dashboard, the scenarios) --------

    def _engine(self) -> Engine:
        if self.engine is None:
            raise StateError("the Docker stack is not running")
        return self.engine

    async def kill(self, name: str) -> None:
        """``docker kill NAME``: the supervisor sees the engine's ``die`` and applies the
        stack's restart policy."""
        engine = self._engine()
        container = await engine.call(engine.client.containers.get, name)
        await engine.call(container.kill, signal="KILL")

    async def pause(self, name: str) -> None:
        """``docker pause NAME``: the engine freezes the container's processes (its cgroup
        freezer); nothing dies, so the balancer finds out by its health checks."""
        engine = self._engine()
        container = await engine.call(engine.client.containers.get, name)
        await engine.call(container.pause)
        self.event("pause", id=container.id, name=name)

    async def unpause(self, name: str) -> None:
        engine = self._engine()
        container = await engine.call(engine.client.containers.get, name)
        await engine.call(container.unpause)
        self.event("unpause", id=container.id, name=name)

    async def kill_store(self, replica: str) -> StoreKill:
        """``docker kill`` of the stack's store container, or with private storage of
        ``replica``'s own (``<project>-db-rK``): the supervisor starts it again as itself, its
        data on the volume or in its layer."""
        engine = self._engine()
        layout = self.config.layout
        if layout.store_per_replica:
            name = self.project.private_store_name(replica)
        elif layout.store_container:
            name = self.project.store_name
        else:
            return StoreKill("", "skipped: external server")
        container = await engine.call(engine.client.containers.get, name)
        pid = container_pid(container)
        await engine.call(container.kill, signal="KILL")
        return StoreKill(name, f"pid {pid}", "restart", name)

    async def upgrade(self, image: str, progress: Callable[[str], None]) -> list[dict[str, Any]]:
        """``lbdemo upgrade --image IMAGE`` on this stack: the same rolling upgrade through
        the Backend (:meth:`lbdemo.docker.verbs.DockerBackend.upgrade`), in a thread, while
        this stack's supervisor admits each new replica from the engine's events."""
        backend = DockerBackend(self.project.name, self.config.state_root)
        try:
            steps = await asyncio.to_thread(backend.upgrade, image, lambda: None)
        finally:
            backend.close()
        for step in steps:
            self.event("upgrade", old=step["old"], new=step["new"], image=image)
            progress(f"{step['old']} -> {step['new']} ({step['new_id'][:12]}, {image})")
        return steps

    async def copy_into(self, name: str, path: str, data: bytes) -> None:
        """``docker cp``: a one-file tar into the container (``put_archive``), its layer."""
        engine = self._engine()
        container = await engine.call(engine.client.containers.get, name)
        directory, _, base = path.rstrip("/").rpartition("/")
        archive = one_file_tar(base, data)
        if not await engine.call(container.put_archive, directory or "/", archive):
            raise StateError(f"docker cp into {name}:{path} was refused")

    async def signal(self, name: str, signal: str) -> None:
        engine = self._engine()
        container = await engine.call(engine.client.containers.get, name)
        await engine.call(container.kill, signal=parse_signal(signal).name)

    async def run_replica(self, name: str, binds: Mapping[str, str]) -> DockerReplica:
        """``docker run -d -v HOST:PATH``: on the stack's store, healthy, into the rotation;
        the supervisor keeps it from its ``die`` on (its binds go with a replacement)."""
        engine, project = self._engine(), self.project
        assert self.image is not None
        if self.config.layout.store_per_replica:
            raise StateError("a replica of its own with private storage: not on this runtime")
        password = load_or_create_secret(self.config.state_root)
        specs = [f"{Path(host).resolve()}:{path}" for host, path in binds.items()]
        container = await engine.call(
            engine.run_replica, project, self.image, name, project.store_name, password, specs
        )
        return await self.admit_replica(container)

    # -- stopping ----------------------------------------------------------------------------

    async def stop(self) -> None:
        """Supervisor, balancer (no new requests), then every container of the project and its
        network; the volume stays. A stack that never took the lock stops nothing."""
        if self._lock is None:
            return
        try:
            if self.supervisor is not None:
                await self.supervisor.stop()
                self.supervisor = None
            if self.balancer is not None:
                await self.balancer.stop()
                self.balancer = None
            if self.admin is not None:
                await self.admin.close()
                self.admin = None
            if self.engine is not None and self._claimed:
                await self.engine.settle()  # an engine call still under way finishes first
                await self.engine.call(self.engine.remove_project, self.project, graceful=True)
        finally:
            self._replicas = {}
            self._claimed = False
            self._remove_state_files()
            self._lock.release()
            self._lock = None

    # -- describing --------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What ``up`` prints and ``stack.json`` records, in the local stack's shape."""
        config = self.config
        store: dict[str, Any] = config.layout.describe(runtime=self.runtime_name)
        if config.layout.store_container:
            store_id, pid = self._store_ids.get(self.project.store_name, (None, None))
            store |= {
                "container": self.project.store_name,
                "id": store_id,
                "pid": pid,
                "data": f"the named volume {config.layout.volume}",
            }
        return {
            "format": STACK_FORMAT,
            "pid": os.getpid(),
            "layout": store,
            "balancer": self._balancer_description(),
            "replicas": [r.describe() for r in self.replicas],
            # no "daemon": the engine is the daemon; lbdemo's verbs reach it with --runtime docker
            "started_in_s": round(self.started_in_s or 0.0, 3),
            "config": config.describe(),
            "docker": self.runtime_info,
        }

    def _changed(self) -> None:
        if self.balancer is not None and self.started_in_s is not None:
            self._write_state_file()


def _connect() -> Any:
    from lbdemo.docker.engine import connect

    return connect()


def _ensure_image(client: Any, state_root: Any) -> str:
    from lbdemo.docker.image import ensure_image

    return str(ensure_image(client, state_root))
