"""What a local container runs, from its image: its processes started, none of its lifecycle.

* ``lbdemo/catalog:*``: a replica process (``python -m lbdemo.replica``) named after the
  container, so ``X-Replica`` is the container's name. Which store it talks to is the stack's
  :class:`~lbdemo.deploy.layout.Layout`, fixed when the launcher is made: with ``private`` it also
  gets its own PostgreSQL whose data directory is the container path
  ``/var/lib/postgresql/data`` (in its layer unless a volume is mounted there, so it is deleted
  with the container); with ``shared-volume`` it uses the stack's store container ``lbdemo-db``
  (never another database container a user started); with ``external`` the server given by
  ``--dsn``; in a replicated layout also its own streaming standby of ``lbdemo-db`` for reads.
  With ``--region-rtt`` the store container is in region B: the replicas' connections to it, and
  the standbys' replication connections, cross the regions' link (:mod:`lbdemo.runtime.regions`).
* ``lbdemo/postgres:*``: an embedded PostgreSQL on whatever ``/var/lib/postgresql/data``
  resolves to (a named volume). Like PostgreSQL itself, lbdemo refuses a second server on a data
  directory a running container's server holds.

When they run, what they are recorded as and what happens when they die is the supervisor's
(:mod:`lbdemo.runtime.supervisor`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import aiohttp

from lbdemo.config import READ_DSN_ENV, STORE_DSN_ENV
from lbdemo.containers.containers import Container, ContainerStore
from lbdemo.containers.errors import ReadOnlyFileSystemError
from lbdemo.containers.fs import ContainerFS
from lbdemo.containers.images import (
    CATALOG_CONFIG_DIR,
    CATALOG_LOG_DIR,
    PGDATA_PATH,
    POSTGRES_REPOSITORY,
    find_image,
)
from lbdemo.deploy.layout import Layout
from lbdemo.deploy.names import DB_NAME
from lbdemo.errors import ProcessError, StateError, StoreError
from lbdemo.process.spawn import spawn
from lbdemo.runtime.process import ContainerProcess, stack_store_of
from lbdemo.runtime.regions import RegionLink
from lbdemo.store.dsn import split_dsn_password
from lbdemo.store.embedded import EmbeddedPostgres
from lbdemo.store.engines import EngineSpec, StoreEngine
from lbdemo.store.factory import make_engine
from lbdemo.store.secret import PASSWORD_ENV, load_or_create_secret

HEALTH_TIMEOUT_S = 10.0
ENGINE_DATA_PATH = "/var/lib/lbdemo/store"  # a private engine's data, in the container's layer
STANDBY_WAL_SENDERS = 40  # above MAX_REPLICAS standbys, plus pg_basebackup's own two


class Launcher:
    """Starts a container's processes for one state root and one layout."""

    def __init__(
        self,
        store: ContainerStore,
        state_root: Path,
        run_dir: Path,
        layout: Layout,
        running: Callable[[], Iterable[ContainerProcess]],
    ) -> None:
        self.store = store
        self.run_dir = run_dir
        self.layout = layout
        self._running = running  # the containers' processes that run now
        # A password never rides in a DSN (command lines are world-readable): the embedded servers
        # use the state root's secret, a --dsn's own password is split off; both go to the
        # replicas in PGPASSWORD, which only their own user can read.
        self.pg_password = load_or_create_secret(state_root)
        # --store redis|etcd: the engine's own secret (Redis requirepass/masterauth), and the
        # stack's shared engine once the stack started it (not for private: one per replica)
        self.engine_password: str | None = None
        if not layout.postgres:
            self.engine_password = load_or_create_secret(state_root, f"{layout.store}-password")
        self.shared_engine: StoreEngine | None = None
        # What lbdemo/postgres's entrypoint would run initdb into, made once per state root.
        self.pg_template = state_root / "cache" / "postgres-initdb"
        self._external_dsn: str | None = None
        self._external_password: str | None = None
        if layout.dsn is not None:
            self._external_dsn, self._external_password = split_dsn_password(layout.dsn)
        self._ports: dict[str, int] = {}  # store container name -> port, kept across restarts
        # replicated-sync: how many standbys every commit waits for (the stack's replicas)
        self.synchronous_standbys = 1
        self._base_backups = asyncio.Lock()
        # --region-rtt: the store container is in region B, the replicas and standbys in A
        rtt = layout.region_rtt_ms
        self.regions = RegionLink(rtt) if rtt is not None and layout.far_store else None

    async def start(self, container: Container) -> ContainerProcess:
        """The container's processes, started (a store's server, or a replica and its own)."""
        if find_image(container.image).repository == POSTGRES_REPOSITORY:
            return await self._store(container)
        return await self._replica(container)

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
                for p in self._running()
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
            # Three short lines rather than PostgreSQL's log in one: a terminal of 80 columns at
            # projector font size shows them whole (the talk's step 9:00 shows this refusal).
            raise StateError(
                f"cannot start {container.name}: its data directory is in use\n"
                f"  PostgreSQL: {_fatal_line(str(exc))}\n"
                f"  held by {holder.name}'s server{_holder_pid(str(exc))}\n"
                "  two servers cannot share one data directory"
            ) from None
        return server

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

    async def _store(self, container: Container) -> ContainerProcess:
        # Same name, same port: the replicas' DSN stays right when the store is restarted.
        server = await self._start_postgres(
            container, self._ports.get(container.name), settings=self.primary_settings()
        )
        self._ports[container.name] = server.info.port
        return ContainerProcess(container, None, server, server.info.dsn)

    async def _replica_store(self) -> tuple[str, str | None]:
        """The store every replica of this stack shares (not for a private layout): its
        password-free DSN (across the regions' link if it is far) and its password."""
        if self._external_dsn is not None:
            return self._external_dsn, self._external_password
        store = stack_store_of(self._running())
        if store is None:
            raise StateError(f"no store to connect a replica to: {DB_NAME} is not running")
        if self.regions is not None:
            return await self.regions.far_dsn(store.store_dsn), self.pg_password
        return store.store_dsn, self.pg_password

    async def _start_standby(self, container: Container) -> EmbeddedPostgres:
        """The replica's own streaming standby of the stack's store, in its container layer."""
        primary = stack_store_of(self._running())
        if primary is None or primary.server is None:
            raise StateError(f"no primary to replicate: {DB_NAME} is not running")
        server = EmbeddedPostgres(
            self._pgdata(container),
            log_file=self.run_dir / f"postgres-{container.name}.log",
            password=self.pg_password,
        )
        info = primary.server.info
        if self.regions is not None:  # the standby is in region A, its primary in B
            info = dataclasses.replace(info, port=await self.regions.port_for(info.port))
        async with self._base_backups:  # one at a time: each asks the primary for a checkpoint
            await server.base_backup(info)
        await server.start_standby(
            info,
            application_name=container.name.replace("-", "_"),
            apply_delay_ms=self.layout.apply_delay_ms,
            settings={"max_wal_senders": str(STANDBY_WAL_SENDERS)},  # a standby's >= primary's
        )
        return server

    async def _replica(self, container: Container) -> ContainerProcess:
        """The replica process, with its own PostgreSQL or standby if the layout gives it one
        (or, with ``--store redis|etcd``, its own engine or the stack's)."""
        engine: StoreEngine | None = None
        server: EmbeddedPostgres | None = None
        if self.layout.postgres:
            server, dsn, password, read_dsn = await self._replica_stores(container)
        else:
            engine, dsn, password, read_dsn = await self._engine_stores(container)
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
            if engine is not None:
                await engine.stop()
            with contextlib.suppress(StateError):
                self.store.set_state(container.id, "exited", exit_code=1)
            raise
        return ContainerProcess(container, child, server, dsn, engine=engine)

    async def _engine_stores(
        self, container: Container
    ) -> tuple[StoreEngine | None, str, str | None, str | None]:
        """``--store redis|etcd``: the replica's own engine (private: started here, data in its
        container layer) or the stack's; the URL it writes to, the password, its read URL."""
        layout = self.layout
        if layout.engine_per_replica:
            spec = EngineSpec(
                kind=layout.store,
                layout="private",
                data_dir=ContainerFS(container).resolve(ENGINE_DATA_PATH, write=True),
                log_dir=self.run_dir,
                name=container.name,
                password=self.engine_password,
                read_mode=layout.read_mode or "linearizable",
            )
            engine = make_engine(spec)
            try:
                await engine.start()
            except BaseException:
                await engine.stop()
                raise
            return engine, engine.store_url(0), self.engine_password, engine.read_url(0)
        shared = self.shared_engine
        if shared is None:
            raise StateError(f"no {layout.store} to connect a replica to: it is not running")
        index = replica_index(container.name)
        return None, shared.store_url(index), self.engine_password, shared.read_url(index)

    async def _replica_stores(
        self, container: Container
    ) -> tuple[EmbeddedPostgres | None, str, str | None, str | None]:
        """Where the replica writes and reads, from the layout: its own server (started here,
        or None), the DSN and password it writes with, the DSN of its own standby for reads."""
        if self.layout.store_per_replica:
            server = await self._start_postgres(container)
            return server, server.info.dsn, self.pg_password, None
        dsn, password = await self._replica_store()
        if self.layout.replicated:
            standby = await self._start_standby(container)
            return standby, dsn, password, standby.info.dsn
        return None, dsn, password, None

    async def close(self) -> None:
        """The regions' link, once every process that used it has stopped."""
        if self.regions is not None:
            await self.regions.close()

    @staticmethod
    async def healthy(proc: ContainerProcess) -> None:
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


def replica_index(name: str) -> int:
    """Which of a shared engine's URLs replica ``name`` takes: ``lbdemo-rK`` the (K-1)th (a
    replacement ``lbdemo-r4`` of three wraps around to the first)."""
    found = re.search(r"-r(\d+)$", name)
    return int(found[1]) - 1 if found else 0


def _catalog_dirs(container: Container) -> list[str]:
    """The replica's ``/etc/catalog`` and ``/var/log/catalog`` as host paths, resolved as the
    container sees them (layer, volume or bind mount); a read-only log mount means no log file."""
    fs = ContainerFS(container)
    argv = ["--config-dir", str(fs.resolve(CATALOG_CONFIG_DIR))]
    with contextlib.suppress(ReadOnlyFileSystemError):
        argv += ["--log-dir", str(fs.mkdir(CATALOG_LOG_DIR))]
    return argv


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


def _holder_pid(message: str) -> str:
    """`` (PID N)`` of the server PostgreSQL's hint names as the data directory's holder: what
    a speaker (and the test that checks it was stopped after) can point at."""
    found = re.search(r"another postmaster \(PID (\d+)\)", message)
    return f" (PID {found[1]})" if found else ""


def _fatal_line(message: str) -> str:
    """PostgreSQL's own reason from the tail of its log (``... | ... FATAL:  lock file ...``)."""
    for part in message.split(" | "):
        if "FATAL:" in part:
            return "FATAL: " + part.split("FATAL:", 1)[1].strip()
    return message
