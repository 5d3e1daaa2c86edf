"""``--store redis``: Redis servers run by lbdemo, as its children, on 127.0.0.1.

* ``private``: one ``redis-server`` for one replica, data in its container layer.
* ``shared``: one primary every replica writes to and reads from, data on the named volume.
* ``replicated-async``: the primary, and one Redis replica per lbdemo replica (``replicaof``,
  ``masterauth``), each in its own directory under the volume's; writes go to the primary,
  reads to the lbdemo replica's own Redis replica. Redis replicates asynchronously: the primary
  acknowledges a write before any replica has it. With ``apply_delay_ms`` each Redis replica
  connects to the primary through lbdemo's fault proxy (:class:`~lbdemo.process.proxy.FaultProxy`,
  steady mode), which holds every byte from the primary that long: the replication stream, and so
  what a replica serves, runs that far behind.

Every server demands the state root's Redis password (``requirepass``; ``masterauth`` for the
replicas). It is written into the server's configuration file (mode 0600, in its data
directory), never onto a command line. Persistence: the primary keeps an append-only file in its
data directory (``appendfsync everysec``: up to a second of acknowledged writes may be lost in a
crash of the machine, not of the process); the replicas keep nothing (``save ""``), they resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lbdemo.errors import StoreError
from lbdemo.process.ports import free_port
from lbdemo.process.proxy import FaultProxy
from lbdemo.process.spawn import Child, spawn
from lbdemo.store.engines import EngineSpec, engine_binary

HOST = "127.0.0.1"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.05


@dataclass
class RedisServer:
    """One ``redis-server``: its directory, port, process."""

    name: str
    data_dir: Path
    port: int
    child: Child | None = None
    upstream_port: int | None = None  # a replica: the port it replicates from (a proxy's)

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None else None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "port": self.port,
            "pid": self.pid,
            "data": str(self.data_dir),
        }
        if self.upstream_port is not None:
            out["replicaof_port"] = self.upstream_port
        return out


class RedisEngine:
    """The Redis servers of one :class:`~lbdemo.store.engines.EngineSpec` (see the module)."""

    def __init__(self, spec: EngineSpec) -> None:
        if spec.password is None:
            raise StoreError("Redis runs with a password (requirepass): none was given")
        self.spec = spec
        self.primary: RedisServer | None = None
        self.replicas: list[RedisServer] = []
        self.proxies: list[FaultProxy] = []

    # -- the StoreEngine protocol ------------------------------------------------------------

    @property
    def processes(self) -> list[asyncio.subprocess.Process]:
        return [s.child.process for s in self._servers() if s.child is not None and s.child.running]

    def store_url(self, index: int) -> str:
        assert self.primary is not None, "start() first"
        return self.primary.url

    def read_url(self, index: int) -> str | None:
        if not self.replicas:
            return None
        return self.replicas[index % len(self.replicas)].url

    def describe(self) -> dict[str, Any]:
        return {
            "engine": "redis",
            "layout": self.spec.layout,
            "primary": self.primary.describe() if self.primary else None,
            "replicas": [r.describe() for r in self.replicas],
            "apply_delay_ms": self.spec.apply_delay_ms,
            "auth": "requirepass",
        }

    async def start(self) -> None:
        binary = engine_binary("redis")
        spec = self.spec
        root = spec.data_dir
        primary_dir = root if spec.layout != "replicated-async" else root / "primary"
        self.primary = RedisServer(f"{spec.name}-redis", primary_dir, free_port())
        await self._launch(binary, self.primary, persistent=True)
        if spec.layout != "replicated-async":
            return
        for k in range(1, spec.readers + 1):
            upstream = self.primary.port
            if spec.apply_delay_ms:
                proxy = FaultProxy(HOST, self.primary.port, steady=True)
                proxy.latency(spec.apply_delay_ms / 1000.0)
                await proxy.start()
                self.proxies.append(proxy)
                upstream = proxy.port
            replica = RedisServer(
                f"{spec.name}-redis-replica{k}", root / f"replica{k}", free_port()
            )
            replica.upstream_port = upstream
            self.replicas.append(replica)
        # together: each replica's first sync is a full one (an RDB sent through its link)
        await asyncio.gather(*(self._launch(binary, r, persistent=False) for r in self.replicas))

    async def wait_caught_up(self, timeout_s: float) -> float:
        """Seconds until every Redis replica has processed the replication stream up to the
        primary's offset of now (``INFO replication``: ``master_repl_offset`` against each
        replica's ``slave_repl_offset``); a StoreError past ``timeout_s``."""
        began = time.monotonic()
        if not self.replicas or self.primary is None:
            return 0.0
        target = _offset(
            await _command(self.primary.port, self.spec.password, "INFO", "replication"),
            "master_repl_offset",
        )
        while time.monotonic() - began < timeout_s:
            offsets = [
                _offset(
                    await _command(r.port, self.spec.password, "INFO", "replication"),
                    "slave_repl_offset",
                )
                for r in self.replicas
            ]
            if min(offsets) >= target:
                return time.monotonic() - began
            await asyncio.sleep(POLL_S)
        raise StoreError(f"the Redis replicas did not catch up within {timeout_s:.0f} s")

    async def stop(self) -> None:
        # replicas first: a primary going away first would have them retry its link
        await asyncio.gather(*(self._stop(r) for r in self.replicas))
        for proxy in self.proxies:
            await proxy.close()
        self.proxies = []
        if self.primary is not None:
            await self._stop(self.primary)

    # -- the servers -------------------------------------------------------------------------

    def _servers(self) -> list[RedisServer]:
        return ([self.primary] if self.primary else []) + self.replicas

    def _config(self, server: RedisServer, *, persistent: bool) -> str:
        """redis.conf for ``server``: the password lives here (mode 0600), not in argv."""
        password = self.spec.password
        assert password is not None
        lines = [
            f"bind {HOST}",
            f"port {server.port}",
            "protected-mode yes",
            "daemonize no",
            'logfile ""',  # stdout: the child's log file
            f"dir {server.data_dir}",
            f"requirepass {password}",
            'save ""',  # no RDB snapshots: the primary's append-only file is its persistence
            f"appendonly {'yes' if persistent else 'no'}",
            "appendfsync everysec",
            # a replica's first sync starts at once (Redis 7 waits 5 s for more replicas)
            "repl-diskless-sync-delay 0",
        ]
        if server.upstream_port is not None:
            lines += [
                f"replicaof {HOST} {server.upstream_port}",
                f"masterauth {password}",
                "replica-read-only yes",
                "repl-diskless-load disabled",
            ]
        return "\n".join(lines) + "\n"

    async def _launch(self, binary: str, server: RedisServer, *, persistent: bool) -> None:
        server.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        conf = server.data_dir / "redis.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self._config(server, persistent=persistent))
        server.child = await spawn(
            server.name,
            [binary, str(conf)],
            log_path=self.spec.log_dir / f"{server.name}.log",
            wait_ready=False,
        )
        await self._until_ready(server)

    async def _until_ready(self, server: RedisServer) -> None:
        """PING answers (with the password); a replica also has its link to the primary up
        and its first sync done (``master_link_status:up``)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            assert server.child is not None
            if not server.child.running:
                raise StoreError(
                    f"{server.name} exited at start (status {server.child.process.returncode}); "
                    f"see {server.child.log_path}"
                )
            try:
                info = await _command(server.port, self.spec.password, "INFO", "replication")
                if server.upstream_port is None or "master_link_status:up" in info:
                    return
                last = "its link to the primary is not up"
            except (OSError, StoreError) as exc:
                last = str(exc) or type(exc).__name__
            await asyncio.sleep(POLL_S)
        raise StoreError(f"{server.name} did not start within {START_TIMEOUT_S:.0f} s: {last}")

    async def _stop(self, server: RedisServer) -> None:
        if server.child is not None:
            await server.child.stop(timeout_s=STOP_TIMEOUT_S)


async def _command(port: int, password: str | None, *words: str) -> str:
    """One command over a fresh connection, in RESP, without the client library: the engine
    is started by the supervisor, which needs no Redis client. Returns a bulk or simple reply."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 2.0)
    try:
        commands = ([("AUTH", password)] if password else []) + [words]
        payload = b"".join(_resp(cmd) for cmd in commands)
        writer.write(payload)
        await writer.drain()
        reply = ""
        for _ in commands:
            reply = await asyncio.wait_for(_reply(reader), 2.0)
        return reply
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _offset(info: str, field: str) -> int:
    """One integer field of ``INFO`` (``field:123``); -1 when absent (a link not up yet)."""
    for line in info.splitlines():
        name, _, value = line.partition(":")
        if name == field and value.strip().lstrip("-").isdigit():
            return int(value)
    return -1


def _resp(words: tuple[str, ...]) -> bytes:
    out = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def _reply(reader: asyncio.StreamReader) -> str:
    line = (await reader.readline()).rstrip(b"\r\n")
    if not line:
        raise StoreError("connection closed")
    kind, rest = line[:1], line[1:].decode(errors="replace")
    if kind == b"-":
        raise StoreError(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return ""
        return (await reader.readexactly(size + 2))[:-2].decode(errors="replace")
    return rest
