"""A running stack: store server(s), N replica processes, one balancer process.

``Stack(config).start()`` brings everything up and returns when every replica answered its
health check through its ready line; ``stop()`` takes it down in reverse order. The layouts:

* ``private``: replica ``rK`` gets its own PostgreSQL whose data directory is inside the
  replica's container layer, ``<state>/containers/rK/layer/pgdata``; the layer is deleted when the
  stack goes down, as ``docker rm`` deletes a container's layer.
* ``shared``: one PostgreSQL whose data directory is the named volume
  ``<state>/volumes/<volume>/_data``; it outlives the stack. With ``dsn`` an existing server is
  used instead and nothing is started for storage.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from lbdemo.errors import UsageError
from lbdemo.procs import Child, spawn
from lbdemo.store.embedded import EmbeddedPostgres

Storage = Literal["private", "shared"]
STORAGE_CHOICES: tuple[Storage, ...] = ("private", "shared")


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

    def validate(self) -> None:
        if not 1 <= self.replicas <= 32:
            raise UsageError(f"--replicas must be between 1 and 32, got {self.replicas}")
        if self.storage not in STORAGE_CHOICES:
            raise UsageError(f"--storage must be private or shared, got {self.storage!r}")
        if self.dsn is not None and self.storage == "private":
            raise UsageError("--dsn names one shared server; use it with --storage shared")
        if self.dsn is not None and not self.dsn.startswith(("postgres://", "postgresql://")):
            raise UsageError("--dsn must be a postgresql:// URL")

    @property
    def run_dir(self) -> Path:
        return self.state_root / "run"

    def layer_dir(self, replica: str) -> Path:
        return self.state_root / "containers" / replica / "layer"

    def volume_data_dir(self) -> Path:
        return self.state_root / "volumes" / self.volume / "_data"


@dataclass
class ReplicaHandle:
    name: str
    child: Child
    store_dsn: str
    server: EmbeddedPostgres | None = None

    @property
    def url(self) -> str:
        return str(self.child.ready["url"])


class Stack:
    """Starts and stops the processes of one stack; knows their pids and URLs."""

    def __init__(self, config: StackConfig) -> None:
        config.validate()
        self.config = config
        self.replicas: list[ReplicaHandle] = []
        self.servers: list[EmbeddedPostgres] = []
        self.balancer: Child | None = None
        self.started_in_s: float | None = None

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
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            dsns = await self._start_storage()
            names = [f"r{k}" for k in range(1, self.config.replicas + 1)]
            starting = (self._start_replica(n, d) for n, d in zip(names, dsns, strict=True))
            self.replicas = list(await asyncio.gather(*starting))
            self.balancer = await self._start_balancer()
        except BaseException:
            await self.stop()
            raise
        self.started_in_s = time.monotonic() - began
        self._write_state_file()

    async def _start_storage(self) -> list[str]:
        """One DSN per replica: the same shared one, or one private server each."""
        config = self.config
        if config.dsn is not None:
            return [config.dsn] * config.replicas
        if config.storage == "shared":
            server = EmbeddedPostgres(
                config.volume_data_dir(), log_file=config.run_dir / "postgres-shared.log"
            )
            self.servers = [server]
            info = await server.start()
            return [info.dsn] * config.replicas
        self.servers = []
        for k in range(1, config.replicas + 1):
            layer = config.layer_dir(f"r{k}")
            shutil.rmtree(layer, ignore_errors=True)  # a new container starts from its image
            self.servers.append(
                EmbeddedPostgres(layer / "pgdata", log_file=config.run_dir / f"postgres-r{k}.log")
            )
        infos = await asyncio.gather(*(s.start() for s in self.servers))
        return [info.dsn for info in infos]

    async def _start_replica(self, name: str, dsn: str) -> ReplicaHandle:
        child = await spawn(
            f"replica {name}",
            [sys.executable, "-m", "lbdemo.replica", "--name", name, "--dsn", dsn,
             "--image", self.config.image],
            log_path=self.config.run_dir / f"replica-{name}.log",
        )
        server = None
        if self.config.storage == "private" and self.config.dsn is None:
            server = self.servers[int(name[1:]) - 1]
        return ReplicaHandle(name, child, dsn, server)

    async def _start_balancer(self) -> Child:
        argv = [sys.executable, "-m", "lbdemo.balancer", "--listen", self.config.balancer_listen,
                "--strategy", self.config.strategy, "--admin", "127.0.0.1:0"]
        for replica in self.replicas:
            argv += ["--upstream", f"{replica.name}={replica.url}"]
        env = {**os.environ, "LBDEMO_ADMIN_TOKEN": self.config.admin_token}
        return await spawn("balancer", argv, log_path=self.config.run_dir / "balancer.log", env=env)

    async def stop(self) -> None:
        """Balancer first (no new requests), then replicas, then the databases."""
        if self.balancer is not None:
            await self.balancer.stop()
            self.balancer = None
        await asyncio.gather(*(r.child.stop() for r in self.replicas))
        await asyncio.gather(*(s.stop() for s in self.servers))
        if self.config.storage == "private":
            for replica in self.replicas:
                shutil.rmtree(self.config.layer_dir(replica.name).parent, ignore_errors=True)
        self.replicas, self.servers = [], []
        (self.config.run_dir / "stack.json").unlink(missing_ok=True)

    def describe(self) -> dict[str, Any]:
        """What ``up`` prints and ``stack.json`` records: URLs, pids, where data lives."""
        config = self.config
        return {
            "storage": config.storage,
            "balancer": {"url": self.url, "admin_url": self.admin_url,
                         "pid": self.balancer.pid if self.balancer else None},
            "replicas": [
                {"name": r.name, "url": r.url, "pid": r.child.pid,
                 "data": str(r.server.pgdata) if r.server else None,
                 "store_pid": r.server.pid if r.server else None}
                for r in self.replicas
            ],
            "store": (
                {"kind": "external", "dsn": config.dsn} if config.dsn else
                {"kind": "shared-volume", "volume": config.volume,
                 "data": str(config.volume_data_dir()), "pid": self.servers[0].pid}
                if config.storage == "shared" else {"kind": "private-layers"}
            ),
            "started_in_s": round(self.started_in_s or 0.0, 3),
            "config": {k: str(v) for k, v in asdict(config).items() if k != "admin_token"},
        }

    def _write_state_file(self) -> None:
        path = self.config.run_dir / "stack.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.describe(), indent=2))
        tmp.replace(path)
