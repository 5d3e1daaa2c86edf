"""The supervisor: containers from records to processes, and back, with Docker's lifecycle.

:class:`Runtime` is what dockerd is to ``docker``: it turns a container record of
:class:`~lbdemo.containers.containers.ContainerStore` into running processes, records
``running``/``exited`` with pids, and keeps the balancer's rotation in step with them. What a
container runs follows from its image:

* ``lbdemo/catalog:*``: a replica process (``python -m lbdemo.replica``) named after the
  container, so ``X-Replica`` is the container's name. Which store it talks to is the stack's
  :class:`~lbdemo.layout.Layout`, fixed when the runtime is made: with ``private`` it also gets
  its own PostgreSQL whose data directory is the container path ``/var/lib/postgresql/data``
  (in its layer unless a volume is mounted there, so it is deleted with the container); with
  ``shared-volume`` it uses the stack's store container ``lbdemo-db`` (never another database
  container a user started); with ``external`` the server given by ``--dsn``.
* ``lbdemo/postgres:*``: an embedded PostgreSQL on whatever ``/var/lib/postgresql/data``
  resolves to (a named volume). Like PostgreSQL itself, lbdemo refuses a second server on a data
  directory a running container's server holds.

Cattle, not pets: a replica that dies unasked leaves the rotation at once and, with restart
policy ``always``, is *replaced*: the dead container is removed with its layer and a fresh one
from the same image takes its name. ``stop`` is a deliberate stop (no replacement, layer kept);
``kill`` is a crash as far as the policy is concerned (the task's "kill a replica" lesson).
A replica whose own PostgreSQL dies has died too. A store container that dies is restarted
with policy ``always``: the same container, on the same volume and port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from lbdemo.config import READ_DSN_ENV, STORE_DSN_ENV
from lbdemo.containers.containers import Container, ContainerStore
from lbdemo.containers.errors import (
    ContainerRunningError,
    NoSuchContainerError,
    ReadOnlyFileSystemError,
)
from lbdemo.containers.fs import ContainerFS
from lbdemo.containers.images import (
    CATALOG_CONFIG_DIR,
    CATALOG_LOG_DIR,
    CATALOG_REPOSITORY,
    PGDATA_PATH,
    POSTGRES_REPOSITORY,
    find_image,
)
from lbdemo.containers.mounts import Mount
from lbdemo.errors import ProcessError, StateError, StoreError, UsageError
from lbdemo.layout import Layout
from lbdemo.process.spawn import Child, spawn
from lbdemo.runtime.admin import BalancerAdmin
from lbdemo.store.dsn import split_dsn_password
from lbdemo.store.embedded import EmbeddedPostgres
from lbdemo.store.secret import PASSWORD_ENV, load_or_create_secret

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
PROJECT = "lbdemo"
REPLICA_PREFIX = "lbdemo-r"
DB_NAME = "lbdemo-db"
RESTART_POLICIES = ("no", "always", "replace")
STOP_TIMEOUT_S = 10.0
# After the balancer let go of a replica, a connection it opened just before may still carry a
# request; a moment before SIGTERM lets that request arrive and be served.
LEAVE_GRACE_S = 0.1
HEALTH_TIMEOUT_S = 10.0
RESTART_ATTEMPTS = 6
RESTART_DELAY_S = 0.2
STANDBY_WAL_SENDERS = 40  # above MAX_REPLICAS standbys, plus pg_basebackup's own two

Event = dict[str, Any]


def exit_status(returncode: int | None) -> int:
    """A process's status as Docker shows it: death by signal N is ``128 + N`` (137: SIGKILL)."""
    if returncode is None:
        return -1
    return 128 - returncode if returncode < 0 else returncode


def parse_signal(text: str) -> signal.Signals:
    """``KILL``, ``SIGKILL`` or ``9`` -> SIGKILL (``docker kill -s`` accepts all three)."""
    name = text.upper()
    if name.isdigit():
        try:
            return signal.Signals(int(name))
        except ValueError:
            pass
    else:
        with contextlib.suppress(KeyError):
            return signal.Signals[name if name.startswith("SIG") else "SIG" + name]
    raise UsageError(f"invalid signal: {text}")


@dataclass
class ContainerProcess:
    """A running container: its record, its processes, where it serves."""

    container: Container
    child: Child | None  # the replica process; None for a store container
    server: EmbeddedPostgres | None  # its PostgreSQL: private store, or the store container's own
    store_dsn: str = ""
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

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "image": self.image,
            "url": self.url,
            "pid": self.pid,
            "data": str(self.server.pgdata) if self.server and self.child else None,
            "store_pid": self.server.pid if self.server and self.child else None,
        }


class Runtime:
    """Containers of one state root as processes; every change goes through one lock."""

    def __init__(
        self,
        state_root: Path,
        run_dir: Path,
        layout: Layout,
        *,
        on_change: Callable[[Event], None] | None = None,
    ) -> None:
        self.store = ContainerStore(state_root)
        self.run_dir = run_dir
        self.layout = layout
        # A password never rides in a DSN (command lines are world-readable): the embedded servers
        # use the state root's secret, a --dsn's own password is split off; both go to the
        # replicas in PGPASSWORD, which only their own user can read.
        self.pg_password = load_or_create_secret(state_root)
        # What lbdemo/postgres's entrypoint would run initdb into, made once per state root.
        self.pg_template = state_root / "cache" / "postgres-initdb"
        self._external_dsn: str | None = None
        self._external_password: str | None = None
        if layout.dsn is not None:
            self._external_dsn, self._external_password = split_dsn_password(layout.dsn)
        self.admin: BalancerAdmin | None = None
        self.procs: dict[str, ContainerProcess] = {}  # container id -> process, in start order
        self.events: list[Event] = []
        self._on_change = on_change
        self._lock = asyncio.Lock()
        self._closing = False
        self._ports: dict[str, int] = {}  # store container name -> port, kept across restarts
        # replicated-sync: how many standbys every commit waits for (the stack's replicas)
        self.synchronous_standbys = 1
        self._base_backups = asyncio.Lock()

    # -- reading ---------------------------------------------------------------------------

    @property
    def replicas(self) -> list[ContainerProcess]:
        """Running replicas in creation order (the balancer's initial rotation order)."""
        running = [p for p in self.procs.values() if p.is_replica]
        return sorted(running, key=lambda p: (p.container.created, p.name))

    @property
    def stores(self) -> list[ContainerProcess]:
        return [p for p in self.procs.values() if not p.is_replica]

    def find(self, ref: str) -> ContainerProcess | None:
        container = self.store.get(ref)
        return self.procs.get(container.id)

    def _event(self, kind: str, **fields: Any) -> None:
        event = {"event": kind, **fields}
        self.events.append(event)
        if self._on_change is not None:
            self._on_change(event)

    # -- creating and starting ---------------------------------------------------------------

    def create(
        self,
        image: str,
        name: str | None = None,
        mounts: Sequence[Mount] = (),
        labels: dict[str, str] | None = None,
        restart: str = "no",
    ) -> Container:
        if restart not in RESTART_POLICIES:
            raise UsageError(
                f"invalid restart policy {restart!r}: use {', '.join(RESTART_POLICIES)}"
            )
        repository = find_image(image).repository
        if repository not in (CATALOG_REPOSITORY, POSTGRES_REPOSITORY):
            raise UsageError(f"lbdemo cannot run image {image}")
        return self.store.create(
            image, name=name, mounts=mounts, labels=labels, restart_policy=restart
        )

    async def launch(self, container: Container) -> ContainerProcess:
        """Start a created or exited container's processes and record them (no rotation)."""
        if find_image(container.image).repository == POSTGRES_REPOSITORY:
            proc = await self._start_store(container)
        else:
            proc = await self._start_replica(container)
        self.procs[container.id] = proc
        self.store.set_state(container.id, "running", pid=proc.pid)
        proc.watcher = asyncio.create_task(self._watch(proc))
        self._event("start", id=container.id, name=container.name, image=container.image)
        return proc

    def _pgdata(self, container: Container) -> Path:
        # The container path resolves through a mount (volume: survives) or into the layer.
        return ContainerFS(container).resolve(PGDATA_PATH, write=True)

    async def _start_postgres(
        self, container: Container, port: int | None = None, settings: dict[str, str] | None = None
    ) -> EmbeddedPostgres:
        """A container's PostgreSQL on its data directory; refused, as PostgreSQL refuses it,
        when a running container's server already holds that directory."""
        pgdata = self._pgdata(container)
        holder = next(
            (
                p
                for p in self.procs.values()
                if p.server is not None and p.id != container.id and p.server.pgdata == pgdata
            ),
            None,
        )
        # A store container's output is the server's log (``lbdemo logs lbdemo-db``); a private
        # replica's PostgreSQL keeps its own file, so the replica's output stays readable.
        store_container = find_image(container.image).repository == POSTGRES_REPOSITORY
        log_file = (
            container.log_path
            if store_container
            else self.run_dir / f"postgres-{container.name}.log"
        )
        server = EmbeddedPostgres(
            pgdata, log_file=log_file, password=self.pg_password, template=self.pg_template
        )
        try:
            # A server left by a dead container is stopped first; a live one never is: then
            # PostgreSQL itself refuses, and its reason is what the user sees.
            await server.start(port, stop_leftover=holder is None, settings=settings)
        except StoreError as exc:
            if holder is None:
                raise
            raise StateError(
                f"cannot start {container.name}: the data directory is in use by the PostgreSQL "
                f"server of container {holder.name}; PostgreSQL says: {exc}. Several database "
                "servers cannot share one data directory: run one server with its data on the "
                "volume, and let the stateless replicas share that server"
            ) from None
        return server

    @property
    def stack_store(self) -> ContainerProcess | None:
        """The stack's own store container, if it runs (never one a user started by hand)."""
        return next((p for p in self.stores if _is_stack_store(p.container)), None)

    def primary_settings(self) -> dict[str, str]:
        """What the stack's store runs with in a replicated layout (none otherwise): room for a
        WAL sender per standby, and with ``replicated-sync`` every standby synchronous."""
        if not self.layout.replicated:
            return {}
        # wal_keep_size: one standby's base backup must not see the WAL it still needs removed
        # by the checkpoint of another's (seen with three started at once on a busy volume)
        settings = {"max_wal_senders": str(STANDBY_WAL_SENDERS), "wal_keep_size": "256MB"}
        if self.layout.synchronous:
            settings |= {
                "synchronous_commit": "remote_apply",
                "synchronous_standby_names": f"ANY {self.synchronous_standbys} (*)",
            }
        return settings

    async def _start_store(self, container: Container) -> ContainerProcess:
        # Same name, same port: the replicas' DSN stays right when the store is restarted.
        server = await self._start_postgres(
            container, self._ports.get(container.name), settings=self.primary_settings()
        )
        self._ports[container.name] = server.info.port
        return ContainerProcess(container, None, server, server.info.dsn)

    def _replica_store(self) -> tuple[str, str | None]:
        """The store every replica of this stack shares (not for a private layout): its
        password-free DSN and its password."""
        if self._external_dsn is not None:
            return self._external_dsn, self._external_password
        store = self.stack_store
        if store is None:
            raise StateError(f"no store to connect a replica to: {DB_NAME} is not running")
        return store.store_dsn, self.pg_password

    async def _start_standby(self, container: Container) -> EmbeddedPostgres:
        """The replica's own streaming standby of the stack's store, in its container layer."""
        primary = self.stack_store
        if primary is None or primary.server is None:
            raise StateError(f"no primary to replicate: {DB_NAME} is not running")
        server = EmbeddedPostgres(
            self._pgdata(container),
            log_file=self.run_dir / f"postgres-{container.name}.log",
            password=self.pg_password,
        )
        async with self._base_backups:  # one at a time: each asks the primary for a checkpoint
            await server.base_backup(primary.server.info)
        await server.start_standby(
            primary.server.info,
            application_name=container.name.replace("-", "_"),
            apply_delay_ms=self.layout.apply_delay_ms,
            settings={"max_wal_senders": str(STANDBY_WAL_SENDERS)},  # a standby's >= primary's
        )
        return server

    async def _start_replica(self, container: Container) -> ContainerProcess:
        server = None
        password: str | None
        read_dsn: str | None = None
        if self.layout.store_per_replica:
            server = await self._start_postgres(container)
            dsn, password = server.info.dsn, self.pg_password
        elif self.layout.replicated:
            dsn, password = self._replica_store()
            server = await self._start_standby(container)
            read_dsn = server.info.dsn
        else:
            dsn, password = self._replica_store()
        try:
            child = await spawn(
                f"replica {container.name}",
                [
                    sys.executable,
                    "-m",
                    "lbdemo.replica",
                    "--name",
                    container.name,
                    "--image",
                    container.image,
                    *_catalog_dirs(container),
                ],
                log_path=container.log_path,
                env=_replica_env(dsn, password, read_dsn),
            )
        except BaseException:
            if server is not None:
                await server.stop()
            with contextlib.suppress(StateError):
                self.store.set_state(container.id, "exited", exit_code=1)
            raise
        return ContainerProcess(container, child, server, dsn)

    async def _healthy(self, proc: ContainerProcess) -> None:
        """The replica answers its health check itself, before any client is sent to it."""
        timeout = aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            try:
                async with http.get(f"{proc.url}/healthz") as r:
                    if r.status == 200:
                        return
                    raise ProcessError(f"{proc.name} is not healthy: HTTP {r.status}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise ProcessError(f"{proc.name} is not healthy: {exc}") from exc

    # -- the rotation ------------------------------------------------------------------------

    async def _join(self, proc: ContainerProcess) -> None:
        if self.admin is not None and proc.is_replica:
            await self.admin.add(proc.name, proc.url)
            self._event("join", name=proc.name, url=proc.url)

    async def _leave(self, proc: ContainerProcess, *, drain: bool) -> None:
        """Out of the rotation; with ``drain``, after its in-flight requests have finished."""
        if self.admin is None or not proc.is_replica:
            return
        with contextlib.suppress(ProcessError):
            # drain first: the replica stops receiving requests the moment this returns
            await self.admin.drain(proc.name, wait=drain)
        await self.admin.remove(proc.name)
        self._event("leave", name=proc.name)

    # -- stopping --------------------------------------------------------------------------

    async def _stop_processes(self, proc: ContainerProcess, sig: int, timeout_s: float) -> int:
        """Replica first, then its private PostgreSQL; the container's status is the replica's."""
        proc.stopping = True
        code = 0
        if proc.child is not None:
            code = exit_status(await proc.child.stop(sig, timeout_s=timeout_s))
        if proc.server is not None:
            await proc.server.stop()
        if proc.watcher is not None and proc.watcher is not asyncio.current_task():
            proc.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await proc.watcher
        self.procs.pop(proc.id, None)
        return code

    def _record_exit(self, container_id: str, code: int) -> None:
        with contextlib.suppress(NoSuchContainerError):
            self.store.set_state(container_id, "exited", exit_code=code)

    async def _watch(self, proc: ContainerProcess) -> None:
        """Wait until any process of the container exits: the replica, or its PostgreSQL (a
        replica whose own store is gone can only answer 503: it has died as far as anyone can
        tell)."""
        waits = [
            p.wait()
            for p in (
                proc.child.process if proc.child else None,
                proc.server.process if proc.server else None,
            )
            if p
        ]
        tasks = [asyncio.ensure_future(w) for w in waits]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
        returncode = next(iter(done)).result() if done else None
        if proc.stopping or self._closing:
            return
        async with self._lock:
            if proc.stopping or self._closing or proc.id not in self.procs:
                return
            await self._died(proc, exit_status(returncode))

    async def _died(self, proc: ContainerProcess, code: int) -> None:
        """Nobody asked it to stop: out of the rotation now, then its restart policy."""
        proc.stopping = True
        self._record_exit(proc.id, code)
        self._event("die", id=proc.id, name=proc.name, exit_code=code)
        try:
            await self._leave(proc, drain=False)
        except ProcessError as exc:
            self._event("warning", message=str(exc))
        await self._stop_processes(proc, signal.SIGKILL, 1.0)  # its other processes die with it
        if proc.container.restart_policy != "no" and not self._closing:
            await self._bring_back(proc.container)

    async def _bring_back(self, dead: Container) -> None:
        """``always``: Docker's restart, the same container again on its own layer (what it
        wrote is still there). ``replace``: what an orchestrator does with a failed task, the
        dead container removed with its layer and a fresh one from the same image under its name
        (cattle). Tries again with a growing delay, as dockerd does: a killed PostgreSQL's
        backends, for one, take a moment to notice and go."""
        replace = dead.restart_policy == "replace"
        current, delay = dead, RESTART_DELAY_S
        for attempt in range(1, RESTART_ATTEMPTS + 1):
            if self._closing:
                return
            try:
                if replace:
                    with contextlib.suppress(NoSuchContainerError):
                        self.store.remove(current.id, force=True)
                    current = self.create(
                        dead.image, dead.name, dead.mounts, dict(dead.labels), "replace"
                    )
                await self._start_and_join(current)
            except Exception as exc:  # a failed restart must not kill the supervisor
                verb = "replace" if replace else "restart"
                self._event(
                    "warning", message=f"could not {verb} {dead.name} (try {attempt}): {exc}"
                )
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if replace:
                self._event(
                    "replace",
                    name=dead.name,
                    old_id=dead.id,
                    new_id=current.id,
                    image=current.image,
                )
            else:
                self._event("restart", id=dead.id, name=dead.name)
            return

    # -- Docker's verbs ----------------------------------------------------------------------

    async def run(
        self,
        image: str,
        name: str | None = None,
        mounts: Sequence[Mount] = (),
        labels: dict[str, str] | None = None,
        restart: str = "no",
    ) -> ContainerProcess:
        """``docker run -d``: create, start, wait until healthy, join the rotation."""
        async with self._lock:
            container = self.create(image, name, mounts, labels, restart)
            return await self._start_and_join(container)

    async def _start_and_join(self, container: Container) -> ContainerProcess:
        proc = await self.launch(container)
        try:
            if proc.is_replica:
                await self._healthy(proc)
                await self._join(proc)
        except BaseException:
            code = await self._stop_processes(proc, signal.SIGTERM, STOP_TIMEOUT_S)
            self._record_exit(container.id, code)
            raise
        return proc

    async def start(self, ref: str) -> Container:
        """``docker start``: a created or exited container runs again, on its own layer."""
        async with self._lock:
            container = self.store.get(ref)
            if container.id in self.procs:
                return container  # already running: docker start is a no-op then
            await self._start_and_join(container)
            return container

    async def stop(self, ref: str, timeout_s: float = STOP_TIMEOUT_S) -> Container:
        """``docker stop``: leave the rotation (drained), SIGTERM, SIGKILL after the timeout."""
        async with self._lock:
            container = self.store.get(ref)
            proc = self.procs.get(container.id)
            if proc is None:
                return container
            proc.stopping = True
            await self._leave(proc, drain=True)
            await asyncio.sleep(LEAVE_GRACE_S)
            code = await self._stop_processes(proc, signal.SIGTERM, timeout_s)
            self._record_exit(container.id, code)
            self._event("stop", id=container.id, name=container.name, exit_code=code)
            return container

    async def restart(self, ref: str) -> Container:
        """``docker restart``: the same container (same layer, same port for a store)."""
        await self.stop(ref)
        return await self.start(ref)

    async def kill(self, ref: str, sig: signal.Signals = signal.SIGKILL) -> Container:
        """``docker kill``: just the signal; what follows is the watcher's business."""
        container = self.store.get(ref)
        proc = self.procs.get(container.id)
        if proc is None:
            raise StateError(
                f"Cannot kill container: {ref}: container {container.id} is not running"
            )
        target = proc.child.process if proc.child else proc.server.process if proc.server else None
        if target is not None:
            with contextlib.suppress(ProcessLookupError):
                target.send_signal(sig)
        return container

    def pause(self, ref: str) -> Container:
        """``docker pause``: SIGSTOP every process of the container (the replica and, with
        private storage, its PostgreSQL's postmaster). Nothing exits, so no watcher fires: the
        balancer finds out by its health checks, as it would with Docker's freezer."""
        return self._signal_all(ref, signal.SIGSTOP, "pause")

    def unpause(self, ref: str) -> Container:
        """``docker unpause``: SIGCONT to the processes :meth:`pause` stopped."""
        return self._signal_all(ref, signal.SIGCONT, "unpause")

    def _signal_all(self, ref: str, sig: signal.Signals, event: str) -> Container:
        container = self.store.get(ref)
        proc = self.procs.get(container.id)
        if proc is None:
            raise StateError(f"Container {container.id} is not running")
        for process in (
            proc.child.process if proc.child else None,
            proc.server.process if proc.server else None,
        ):
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(sig)
        self._event(event, id=container.id, name=container.name)
        return container

    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> Container:
        """``docker rm [-f]``: out of the rotation, killed (``force``), record and layer gone."""
        async with self._lock:
            container = self.store.get(ref)
            proc = self.procs.get(container.id)
            if proc is not None:
                if not force:
                    raise ContainerRunningError(container.id)
                proc.stopping = True
                await self._leave(proc, drain=False)
                code = await self._stop_processes(proc, signal.SIGKILL, 1.0)
                self._record_exit(container.id, code)
            removed = self.store.remove(container.id, force=True, volumes=volumes)
            self._event("destroy", id=container.id, name=container.name)
            return removed

    async def upgrade(
        self, image: str, progress: Callable[[str], None] = lambda _: None
    ) -> list[dict[str, str]]:
        """Rolling upgrade: per replica, start the new one, let it join, drain and remove the old.

        At every moment at least the other replicas and usually one more are in the rotation,
        and a replica leaves only after its in-flight requests finished: no request fails.
        """
        target = find_image(image)
        if target.repository != CATALOG_REPOSITORY:
            raise UsageError(
                f"upgrade replaces replicas; {image} is not a {CATALOG_REPOSITORY} image"
            )
        replaced: list[dict[str, str]] = []
        async with self._lock:
            for old in list(self.replicas):
                if old.container.labels.get(SERVICE_LABEL) != "replica":
                    continue  # containers started with `lbdemo run` are the user's to replace
                new_container = self.create(
                    image,
                    self.next_replica_name(),
                    old.container.mounts,
                    dict(old.container.labels),
                    old.container.restart_policy,
                )
                new = await self._start_and_join(new_container)
                progress(f"{new.name} ({new.id[:12]}, {image}) joined; draining {old.name}")
                old.stopping = True
                await self._leave(old, drain=True)
                await asyncio.sleep(LEAVE_GRACE_S)
                code = await self._stop_processes(old, signal.SIGTERM, STOP_TIMEOUT_S)
                self._record_exit(old.id, code)
                self.store.remove(old.id, force=True)
                progress(f"{old.name} ({old.id[:12]}, {old.image}) stopped and removed")
                replaced.append(
                    {
                        "old": old.name,
                        "old_id": old.id,
                        "old_image": old.image,
                        "new": new.name,
                        "new_id": new.id,
                        "new_image": image,
                    }
                )
                self._event("upgrade", old=old.name, new=new.name, image=image)
        return replaced

    def next_replica_name(self) -> str:
        numbers = [0]
        for container in self.store.list(all=True):
            match = re.fullmatch(re.escape(REPLICA_PREFIX) + r"(\d+)", container.name)
            if match:
                numbers.append(int(match[1]))
        return f"{REPLICA_PREFIX}{max(numbers) + 1}"

    # -- the end ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop every process (replicas, then stores); records say exited, layers stay."""
        self._closing = True
        self.admin = None
        replicas, stores = self.replicas, self.stores

        async def stop(proc: ContainerProcess) -> None:
            code = await self._stop_processes(proc, signal.SIGTERM, STOP_TIMEOUT_S)
            self._record_exit(proc.id, code)

        await asyncio.gather(*(stop(p) for p in replicas), return_exceptions=True)
        await asyncio.gather(*(stop(p) for p in stores), return_exceptions=True)


def _catalog_dirs(container: Container) -> list[str]:
    """The replica's ``/etc/catalog`` and ``/var/log/catalog`` as host paths, resolved as the
    container sees them (layer, volume or bind mount); a read-only log mount means no log file."""
    fs = ContainerFS(container)
    argv = ["--config-dir", str(fs.resolve(CATALOG_CONFIG_DIR))]
    with contextlib.suppress(ReadOnlyFileSystemError):
        argv += ["--log-dir", str(fs.mkdir(CATALOG_LOG_DIR))]
    return argv


def _is_stack_store(container: Container) -> bool:
    # By name, as compose finds a service: a store replaced by hand under the same name (on the
    # same volume, given the same port) is the stack's store; a second one under another name
    # never is, so replicas cannot split between two databases.
    return container.name == DB_NAME


def _replica_env(dsn: str, password: str | None, read_dsn: str | None = None) -> dict[str, str]:
    """The store reaches a replica through its environment, which only its own user can read,
    never its command line, which every user can. ``read_dsn``: its standby (same password)."""
    env = {**os.environ, STORE_DSN_ENV: dsn}
    env.pop(READ_DSN_ENV, None)  # never one inherited by accident: reads would go elsewhere
    if read_dsn is not None:
        env[READ_DSN_ENV] = read_dsn
    if password is not None:
        env[PASSWORD_ENV] = password
    return env
