"""A running stack: containers from images (store, N replicas), one balancer, one daemon.

``Stack(config).start()`` does what ``docker compose up`` would, with lbdemo's runtime
(:mod:`lbdemo.runtime`): it creates the containers through the
:class:`~lbdemo.containers.containers.ContainerStore`, starts their processes, puts the replicas
behind a balancer and serves the daemon's control API (so ``lbdemo run/stop/kill/upgrade`` work
while it runs). It returns when every replica answered its health check through its ready line;
``stop()`` takes everything down in reverse order and removes the stack's containers with their
layers, as ``docker compose down`` does; named volumes stay. The layouts:

* ``private``: replica container ``lbdemo-rK`` runs its own PostgreSQL whose data directory is
  ``/var/lib/postgresql/data`` inside its container layer
  (``<state>/containers/<id>/layer/var/lib/postgresql/data``): deleted with the container.
* ``shared``: one store container ``lbdemo-db`` (image ``lbdemo/postgres:16``) mounts the named
  volume ``lbdemo-pgdata`` at ``/var/lib/postgresql/data``; the volume outlives the stack. With
  ``dsn`` an existing server is used instead and no store container is made.

The X-Replica header of every response is the name of the container that served it.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import secrets
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from lbdemo.config import ADMIN_TOKEN_ENV
from lbdemo.containers.containers import Container
from lbdemo.containers.images import PGDATA_PATH
from lbdemo.containers.mounts import parse_volume_spec
from lbdemo.errors import StateError, UsageError
from lbdemo.procs import Child, spawn
from lbdemo.runtime.admin import BalancerAdmin
from lbdemo.runtime.api import ControlServer
from lbdemo.runtime.engine import (
    DB_NAME,
    PROJECT,
    PROJECT_LABEL,
    REPLICA_PREFIX,
    RESTART_POLICIES,
    SERVICE_LABEL,
    ContainerProcess,
    Event,
    Runtime,
)
from lbdemo.store.embedded import EmbeddedPostgres

Storage = Literal["private", "shared"]
STORAGE_CHOICES: tuple[Storage, ...] = ("private", "shared")
STORE_IMAGE = "lbdemo/postgres:16"

# What ``Stack.replicas`` holds: a running replica container (``.name``, ``.url``, ``.child``,
# ``.server``, ``.id``, ``.image``).
ReplicaHandle = ContainerProcess


@dataclass(frozen=True)
class StackConfig:
    state_root: Path
    replicas: int = 3
    storage: Storage = "shared"
    dsn: str | None = None
    image: str = "lbdemo/catalog:1.0"
    volume: str = "lbdemo-pgdata"
    balancer_listen: str = "127.0.0.1:8080"
    strategy: str = "round-robin"
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    restart: str = "always"  # the stack's replicas are cattle: a dead one is replaced

    def validate(self) -> None:
        if not 1 <= self.replicas <= 32:
            raise UsageError(f"--replicas must be between 1 and 32, got {self.replicas}")
        if self.storage not in STORAGE_CHOICES:
            raise UsageError(f"--storage must be private or shared, got {self.storage!r}")
        if self.dsn is not None and self.storage == "private":
            raise UsageError("--dsn names one shared server; use it with --storage shared")
        if self.dsn is not None and not self.dsn.startswith(("postgres://", "postgresql://")):
            raise UsageError("--dsn must be a postgresql:// URL")
        if self.restart not in RESTART_POLICIES:
            raise UsageError(f"--restart must be no or always, got {self.restart!r}")

    @property
    def run_dir(self) -> Path:
        return self.state_root / "run"

    def volume_data_dir(self) -> Path:
        return self.state_root / "volumes" / self.volume / "_data"


class StackLock:
    """One stack per state root: an flock held for the stack's life, released by the kernel
    if the process dies. Without it, a second stack (``lbdemo demo`` beside a running ``lbdemo
    up``) would clear the first one's containers and stop its database."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def acquire(cls, path: Path, state_root: Path) -> StackLock:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StateError(
                f"a stack is already running on {state_root} (pid {holder}); stop it with "
                "`lbdemo down`, or give this one its own --state"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        return cls(fd)

    def release(self) -> None:
        os.close(self._fd)  # closing the descriptor drops the flock


class Stack:
    """Starts and stops one stack; knows its containers, their pids and URLs."""

    def __init__(self, config: StackConfig) -> None:
        config.validate()
        self.config = config
        self.runtime = Runtime(
            config.state_root,
            config.run_dir,
            private_store=config.storage == "private" and config.dsn is None,
            shared_dsn=config.dsn,
            on_change=self._changed,
        )
        self.balancer: Child | None = None
        self.control: ControlServer | None = None
        self.started_in_s: float | None = None
        self._lock: StackLock | None = None

    @property
    def replicas(self) -> list[ContainerProcess]:
        """The running replica containers, in the order they started."""
        return self.runtime.replicas

    @property
    def servers(self) -> list[EmbeddedPostgres]:
        """Every PostgreSQL server the stack runs (store container, or one per replica)."""
        return [p.server for p in self.runtime.procs.values() if p.server is not None]

    @property
    def url(self) -> str:
        assert self.balancer is not None
        return str(self.balancer.ready["url"])

    @property
    def admin_url(self) -> str | None:
        assert self.balancer is not None
        value = self.balancer.ready.get("admin_url")
        return str(value) if value else None

    async def start(self) -> None:
        began = time.monotonic()
        config = self.config
        config.run_dir.mkdir(parents=True, exist_ok=True)
        self._lock = StackLock.acquire(config.run_dir / "stack.lock", config.state_root)
        try:
            self._remove_leftovers()
            if config.storage == "shared" and config.dsn is None:
                await self._start_store()
            containers = [
                self._create_replica(f"{REPLICA_PREFIX}{k}") for k in range(1, config.replicas + 1)
            ]
            await asyncio.gather(*(self.runtime.launch(c) for c in containers))
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

    @property
    def admin_token_file(self) -> Path:
        return self.config.run_dir / "admin-token"

    def _write_admin_token(self) -> None:
        """The admin API's bearer token, readable by this user only (never on a command line)."""
        path = self.admin_token_file
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self.config.admin_token + "\n")

    def _remove_leftovers(self) -> None:
        """A stack killed before its ``down`` left records (and maybe processes): clear them."""
        store = self.runtime.store
        for container in store.list(all=True):
            if container.labels.get(PROJECT_LABEL) == PROJECT:
                store.remove(container.id, force=True)

    async def _start_store(self) -> None:
        mount = parse_volume_spec(f"{self.config.volume}:{PGDATA_PATH}")
        container = self.runtime.create(
            STORE_IMAGE, DB_NAME, [mount], {PROJECT_LABEL: PROJECT, SERVICE_LABEL: "db"}
        )
        await self.runtime.launch(container)

    def _create_replica(self, name: str) -> Container:
        return self.runtime.create(
            self.config.image,
            name,
            labels={PROJECT_LABEL: PROJECT, SERVICE_LABEL: "replica"},
            restart=self.config.restart,
        )

    async def _start_balancer(self) -> Child:
        argv = [sys.executable, "-m", "lbdemo.balancer", "--listen", self.config.balancer_listen,
                "--strategy", self.config.strategy, "--admin", "127.0.0.1:0"]  # fmt: skip
        for replica in self.replicas:
            argv += ["--upstream", f"{replica.name}={replica.url}"]
        env = {**os.environ, ADMIN_TOKEN_ENV: self.config.admin_token}
        return await spawn("balancer", argv, log_path=self.config.run_dir / "balancer.log", env=env)

    async def stop(self) -> None:
        """Daemon API, balancer (no new requests), replicas, stores; then the containers go."""
        if self.control is not None:
            await self.control.stop()
            self.control = None
        if self.balancer is not None:
            await self.balancer.stop()
            self.balancer = None
        admin = self.runtime.admin
        await self.runtime.close()
        if admin is not None:
            await admin.close()
        self._remove_leftovers()
        (self.config.run_dir / "stack.json").unlink(missing_ok=True)
        self.admin_token_file.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def describe(self) -> dict[str, Any]:
        """What ``up`` prints and ``stack.json`` records: URLs, pids, containers, data."""
        config = self.config
        stores = self.runtime.stores
        store: dict[str, Any]
        if config.dsn:
            store = {"kind": "external", "dsn": config.dsn}
        elif config.storage == "shared":
            db = stores[0] if stores else None
            store = {"kind": "shared-volume", "volume": config.volume,
                     "data": str(config.volume_data_dir()), "pid": db.pid if db else None,
                     "container": DB_NAME, "id": db.id if db else None}  # fmt: skip
        else:
            store = {"kind": "private-layers"}
        return {
            "storage": config.storage,
            "balancer": {
                "url": self.url,
                "admin_url": self.admin_url,
                "admin_token_file": str(self.admin_token_file),
                "pid": self.balancer.pid if self.balancer else None,
            },
            "replicas": [r.describe() for r in self.replicas],
            "store": store,
            "daemon": {
                "url": self.control.url if self.control else None,
                "file": str(config.run_dir / "daemon.json"),
            },
            "started_in_s": round(self.started_in_s or 0.0, 3),
            "config": {k: str(v) for k, v in asdict(config).items() if k != "admin_token"},
        }

    def _changed(self, event: Event) -> None:
        if self.balancer is not None and self.started_in_s is not None:
            self._write_state_file()

    def _write_state_file(self) -> None:
        path = self.config.run_dir / "stack.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.describe(), indent=2))
        tmp.replace(path)
