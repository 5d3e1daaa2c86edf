"""A running stack: containers from images (store, N replicas), one balancer, one daemon.

``Stack(config).start()`` does what ``docker compose up`` would, with lbdemo's runtime
(:mod:`lbdemo.runtime`): it creates the containers through the
:class:`~lbdemo.containers.containers.ContainerStore`, starts their processes, puts the replicas
behind a balancer and serves the daemon's control API (so ``lbdemo run/stop/kill/upgrade`` work
while it runs). It returns when every replica answered its health check through its ready line;
``stop()`` takes everything down in reverse order and removes the stack's containers with their
layers, as ``docker compose down`` does; named volumes stay. Where the data lives is the
config's :class:`~lbdemo.layout.Layout`, passed to the runtime unchanged:

* ``private``: replica container ``lbdemo-rK`` runs its own PostgreSQL whose data directory is
  ``/var/lib/postgresql/data`` inside its container layer
  (``<state>/containers/<id>/layer/var/lib/postgresql/data``): deleted with the container.
* ``shared-volume``: one store container ``lbdemo-db`` (image ``lbdemo/postgres:16``) mounts the
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
import fcntl
import ipaddress
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lbdemo.balancer.config import STRATEGIES
from lbdemo.config import ADMIN_TOKEN_ENV
from lbdemo.containers.containers import Container
from lbdemo.containers.errors import NoSuchImageError
from lbdemo.containers.images import CATALOG_REPOSITORY, PGDATA_PATH, find_image
from lbdemo.containers.mounts import parse_volume_spec
from lbdemo.deployment import RUNTIMES
from lbdemo.errors import StateError, UsageError
from lbdemo.files import write_json
from lbdemo.layout import Layout
from lbdemo.process.spawn import Child, spawn
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

STORE_IMAGE = "lbdemo/postgres:16"
MAX_REPLICAS = 32
LOOPBACK = "127.0.0.1"
PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


@dataclass(frozen=True)
class StackConfig:
    """Everything a stack is started with, checked on construction: a StackConfig that exists
    is valid, so nothing starts before a bad option is refused."""

    state_root: Path
    layout: Layout = field(default_factory=lambda: Layout.from_options("shared"))
    replicas: int = 3
    image: str = "lbdemo/catalog:1.0"
    balancer_listen: str = "127.0.0.1:8080"
    strategy: str = "round-robin"
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    restart: str = "replace"  # the stack's replicas are cattle: a dead one is replaced
    runtime: str = "local"  # what runs the containers: lbdemo's own runtime, or Docker's
    # Docker's project (as compose's ``-p``): names the containers, network and labels, so two
    # stacks on one engine (parallel tests, say) never touch each other's. The docker runtime's.
    project: str = PROJECT

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise UsageError(
                f"--replicas must be between 1 and {MAX_REPLICAS}, got {self.replicas}"
            )
        if self.strategy not in STRATEGIES:
            raise UsageError(
                f"--strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )
        if self.runtime not in RUNTIMES:
            raise UsageError(
                f"--runtime must be one of {', '.join(RUNTIMES)}, got {self.runtime!r}"
            )
        if self.restart not in RESTART_POLICIES:
            raise UsageError(
                f"--restart must be one of {', '.join(RESTART_POLICIES)}, got {self.restart!r}"
            )
        try:
            repository = find_image(self.image).repository
        except NoSuchImageError as exc:
            raise UsageError(f"--image: {exc}") from None
        if repository != CATALOG_REPOSITORY:
            raise UsageError(f"--image must be a {CATALOG_REPOSITORY} image, got {self.image}")
        if not PROJECT_NAME.fullmatch(self.project):
            raise UsageError(
                "--project must be 1-40 lowercase letters, digits, '-' or '_', starting with a "
                f"letter or digit, got {self.project!r}"
            )
        if self.project != PROJECT and self.runtime != "docker":
            raise UsageError("--project names a Docker project: it goes with --runtime docker")
        host, _, port = self.balancer_listen.rpartition(":")
        if not (port.isascii() and port.isdigit()) or int(port) > 65535:
            raise UsageError(f"--port must be between 0 and 65535, got {port!r}")
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            raise UsageError(f"--host must be an IP address, got {host!r}") from None

    @property
    def exposed(self) -> bool:
        """Whether the balancer listens beyond this machine's loopback (``--host``)."""
        host = self.balancer_listen.rpartition(":")[0].strip("[]")
        return not ipaddress.ip_address(host).is_loopback

    @property
    def run_dir(self) -> Path:
        return self.state_root / "run"

    def volume_data_dir(self) -> Path | None:
        if self.layout.volume is None:
            return None
        return self.state_root / "volumes" / self.layout.volume / "_data"

    def describe(self) -> dict[str, Any]:
        """The settings as JSON (numbers as numbers; no token, no password)."""
        return {
            "state_root": str(self.state_root),
            "layout": self.layout.describe(),
            "replicas": self.replicas,
            "image": self.image,
            "balancer_listen": self.balancer_listen,
            "strategy": self.strategy,
            "restart": self.restart,
            "runtime": self.runtime,
            **({"project": self.project} if self.runtime == "docker" else {}),
        }


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

    @staticmethod
    def held(path: Path) -> bool:
        """Whether a live stack holds the lock at ``path`` (no file: nobody does)."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False


class HostBalancedStack:
    """What both runtimes' stacks share: a balancer process on this host in front of the
    replicas, and the files under ``run/`` that ``up``, ``down`` and the CLI read
    (``stack.json``, ``admin-token``)."""

    config: StackConfig
    balancer: Child | None

    @property
    def url(self) -> str:
        assert self.balancer is not None
        return str(self.balancer.ready["url"])

    @property
    def admin_url(self) -> str | None:
        assert self.balancer is not None
        value = self.balancer.ready.get("admin_url")
        return str(value) if value else None

    @property
    def admin_token_file(self) -> Path:
        return self.config.run_dir / "admin-token"

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def _balancer_description(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "admin_url": self.admin_url,
            "admin_token_file": str(self.admin_token_file),
            "pid": self.balancer.pid if self.balancer else None,
        }

    def _write_state_file(self) -> None:
        path = self.config.run_dir / "stack.json"
        write_json(path, self.describe())
        path.chmod(0o600)  # pids, ports and paths: this user's business (run/ is 0700 too)

    def _remove_state_files(self) -> None:
        (self.config.run_dir / "stack.json").unlink(missing_ok=True)
        self.admin_token_file.unlink(missing_ok=True)


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
            containers = [
                self._create_replica(f"{REPLICA_PREFIX}{k}") for k in range(1, config.replicas + 1)
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
            if ours or _is_stack_name(container.name):
                store.remove(container.id, force=True)

    async def _start_store(self) -> None:
        mount = parse_volume_spec(f"{self.config.layout.volume}:{PGDATA_PATH}")
        container = self.runtime.create(
            STORE_IMAGE,
            DB_NAME,
            [mount],
            {PROJECT_LABEL: PROJECT, SERVICE_LABEL: "db"},
            # A store is no cattle: restarted as itself (its data is on the volume anyway).
            restart="always" if self.config.restart != "no" else "no",
        )
        await self.runtime.launch(container)

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
            labels={PROJECT_LABEL: PROJECT, SERVICE_LABEL: "replica"},
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


STACK_FORMAT = "lbdemo-stack/1"


async def start_balancer(config: StackConfig, upstreams: list[tuple[str, str]]) -> Child:
    """The balancer process on this host in front of ``upstreams`` (name, URL), its admin API on
    loopback; the token reaches it in its environment, never its command line. Both runtimes'."""
    argv = [
        sys.executable,
        "-m",
        "lbdemo.balancer",
        "--listen",
        config.balancer_listen,
        "--strategy",
        config.strategy,
        "--admin",
        "127.0.0.1:0",
    ]
    for name, url in upstreams:
        argv += ["--upstream", f"{name}={url}"]
    env = {**os.environ, ADMIN_TOKEN_ENV: config.admin_token}
    return await spawn("balancer", argv, log_path=config.run_dir / "balancer.log", env=env)


def write_admin_token(path: Path, token: str) -> None:
    """The admin API's bearer token, readable by this user only (never on a command line)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")


def _is_stack_name(name: str) -> bool:
    return name == DB_NAME or re.fullmatch(re.escape(REPLICA_PREFIX) + r"\d+", name) is not None
