"""A single-node Docker swarm on a dockerd of its own, started and stopped by pid here.

Why not the engine the other Docker tests use: ``swarm init`` changes that engine for every
session using it at the same time (docker-compose v1 warns on every ``up`` that the engine runs in
swarm mode, ``docker network ls`` shows ``ingress`` and ``docker_gwbridge``), and the swarm's
``docker_gwbridge`` must exist *before* ``swarm init`` with the options below, which a shared
engine may already have made otherwise. So this dockerd has its own data root, exec root,
socket and pid file, no iptables rules (nothing it publishes needs NAT: every published port is
reached on 127.0.0.1 through the engine's userland proxy), and its own address pools
(10.212.0.0/16 for overlays, 10.213.0.0/24 for docker_gwbridge, 10.216.0.0/24 for its default
bridge), away from the 172.17-31 and 192.168 pools a default engine takes its bridges from.

Its default bridge is a device made here (``BRIDGE``), given with ``--bridge``, and removed
after. Not ``--bridge none``: a dockerd started with it *deletes* the host's ``docker0``, the
default bridge of the other engine, whose containers and builds then fail ("could not find
bridge docker0").

Its data root is kept in pytest's cache directory between sessions, so the project's image (the
tag ``lbdemo_image`` built on the main engine, copied over by ``docker save | docker load``) is
copied once per source tree; older tags are removed when a new one arrives. Its bridge's name,
its subnets and the swarm's VXLAN port are the machine's, so one such engine runs at a time
(``MACHINE_LOCK``; another session waits for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from lbdemo.docker.image import REPOSITORY
from lbdemo.process.spawn import Child, spawn

ENGINE_READY_S = 60.0
ENGINE_STOP_S = 30.0
COPY_TIMEOUT_S = 300
CLI_TIMEOUT_S = 120
GWBRIDGE_SUBNET = "10.213.0.0/24"
OVERLAY_POOL = "10.212.0.0/16"
GWBRIDGE_DEVICE = "lbdswarm0"  # the bridge's interface name on the host: not docker_gwbridge
BRIDGE = "lbdswarm-br0"  # this engine's default bridge, made and removed here
BRIDGE_ADDRESS = "10.216.0.1/24"
# The bridge's name and subnet, the swarm's VXLAN port: one swarm engine per machine at a time,
# whichever checkout's session starts it (its data root is per checkout).
MACHINE_LOCK = Path("/tmp/lbdemo-swarm-engine.lock")
LOCK_WAIT_S = 600.0
STORE_LABEL = "lbdemo-store=true"  # deploy/swarm/stack.yaml pins the store to this node label


@dataclass(frozen=True)
class SwarmEngine:
    """The swarm's engine: ``docker`` commands go to ``host`` (``DOCKER_HOST``)."""

    host: str
    image: str

    def env(self, **extra: str) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DOCKER_HOST": self.host, **extra}

    def docker(self, *args: str, env: dict[str, str] | None = None) -> str:
        """``docker ARGS`` on this engine; its stdout, or AssertionError with its stderr."""
        result = subprocess.run(
            ["docker", *args],
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: {result.stderr.strip()[-1500:]}")
        return result.stdout


def _missing() -> str | None:
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        return "no dockerd or docker command: install docker.io (scripts/ensure-docker)"
    if os.geteuid() != 0:
        return "a swarm needs a dockerd of its own, and only root may start one"
    if shutil.which("ip") is None:
        return "no ip command (iproute2): the swarm's dockerd needs a bridge of its own"
    return None


@contextlib.contextmanager
def _own_bridge() -> Iterator[str]:
    """The bridge device ``BRIDGE`` for the engine's ``--bridge``, deleted on exit."""
    subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True, check=False)  # a leftover
    for command in (
        ["ip", "link", "add", BRIDGE, "type", "bridge"],
        ["ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE],
        ["ip", "link", "set", BRIDGE, "up"],
    ):
        made = subprocess.run(command, capture_output=True, text=True, check=False)
        if made.returncode != 0:
            subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True, check=False)
            pytest.skip(f"cannot make the swarm engine's bridge: {made.stderr.strip()}")
    try:
        yield BRIDGE
    finally:
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True, check=False)


async def _answers(host: str) -> bool:
    probe = await asyncio.create_subprocess_exec(
        "docker",
        "version",
        "--format",
        "{{.Server.Version}}",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DOCKER_HOST": host},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await probe.wait() == 0


async def _start_engine(root: Path, run: Path, log: Path) -> tuple[Child, str]:
    socket = run / "docker.sock"
    host = f"unix://{socket}"
    argv = [
        "dockerd",
        "--data-root",
        str(root),
        "--exec-root",
        str(run / "exec"),
        "--host",
        host,
        "--pidfile",
        str(run / "dockerd.pid"),
        "--bridge",
        BRIDGE,
        "--iptables=false",
        "--ip-masq=false",
    ]
    engine = await spawn("dockerd-swarm", argv, log_path=log, wait_ready=False)
    deadline = time.monotonic() + ENGINE_READY_S
    while not await _answers(host):
        if not engine.running or time.monotonic() > deadline:
            await engine.stop(signal.SIGTERM, timeout_s=ENGINE_STOP_S)
            tail = engine.log_path.read_text(errors="replace").strip().splitlines()[-3:]
            pytest.skip(f"the swarm's dockerd did not come up: {' | '.join(tail)}")
        await asyncio.sleep(0.2)
    return engine, host


def _copy_image(swarm: SwarmEngine) -> None:
    """The main engine's ``swarm.image`` (the one ``$DOCKER_HOST`` names, else the local
    socket) onto the swarm's engine, unless it is there; older tags of the project's image there
    are removed."""
    tags = swarm.docker("image", "ls", REPOSITORY, "--format", "{{.Repository}}:{{.Tag}}")
    present = set(tags.split())
    if swarm.image not in present:
        save = subprocess.Popen(["docker", "save", swarm.image], stdout=subprocess.PIPE)
        try:
            load = subprocess.run(
                ["docker", "load", "--quiet"],
                stdin=save.stdout,
                env=swarm.env(),
                capture_output=True,
                timeout=COPY_TIMEOUT_S,
                check=False,
            )
        finally:
            assert save.stdout is not None
            save.stdout.close()
            save.wait(COPY_TIMEOUT_S)
        assert save.returncode == 0 and load.returncode == 0, load.stderr[-1500:]
    old = sorted(present - {swarm.image})
    if old:
        swarm.docker("image", "rm", *old)


def _leave(swarm: SwarmEngine) -> None:
    """No swarm and no docker_gwbridge left on the engine (a session killed earlier may have
    left both in the kept data root)."""
    state = swarm.docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip()
    if state != "inactive":
        swarm.docker("swarm", "leave", "--force")
    with contextlib.suppress(AssertionError):  # absent: nothing to remove
        swarm.docker("network", "rm", "docker_gwbridge")


def _init(swarm: SwarmEngine, port: int) -> None:
    # Made before `swarm init`, which then uses it: every port a task publishes in host mode is
    # bound to 127.0.0.1 (host_binding_ipv4), the way compose.yaml publishes on loopback only.
    swarm.docker(
        "network",
        "create",
        "--driver",
        "bridge",
        "--subnet",
        GWBRIDGE_SUBNET,
        "--opt",
        f"com.docker.network.bridge.name={GWBRIDGE_DEVICE}",
        "--opt",
        "com.docker.network.bridge.enable_icc=false",
        "--opt",
        "com.docker.network.bridge.enable_ip_masquerade=false",
        "--opt",
        "com.docker.network.bridge.host_binding_ipv4=127.0.0.1",
        "docker_gwbridge",
    )
    try:
        swarm.docker(
            "swarm",
            "init",
            "--advertise-addr",
            f"127.0.0.1:{port}",
            "--listen-addr",
            f"127.0.0.1:{port}",
            "--default-addr-pool",
            OVERLAY_POOL,
        )
    except AssertionError as exc:
        pytest.skip(f"docker swarm init failed: {exc}")
    node = swarm.docker("info", "--format", "{{.Swarm.NodeID}}").strip()
    swarm.docker("node", "update", "--label-add", STORE_LABEL, node)


@contextlib.asynccontextmanager
async def single_node_swarm(
    image: str, root: Path, log: Path, port: int
) -> AsyncIterator[SwarmEngine]:
    """A dockerd on ``root`` (kept), logging to ``log``, in a swarm of one node that has
    ``image`` and manages on 127.0.0.1:``port``; on exit the swarm is left, the dockerd stopped
    by pid and its run directory removed, also on failure."""
    reason = _missing()
    if reason is not None:
        pytest.skip(reason)
    with MACHINE_LOCK.open("a") as lock:
        await _lock(lock)
        async with _session(image, root, log, port) as swarm:
            yield swarm


async def _lock(lock: IO[str]) -> None:
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                pytest.skip(f"another session's swarm engine held {MACHINE_LOCK} for too long")
            await asyncio.sleep(1.0)


@contextlib.asynccontextmanager
async def _session(image: str, root: Path, log: Path, port: int) -> AsyncIterator[SwarmEngine]:
    # A short path of its own: the engine's sockets live in it (108 bytes at most each).
    run = Path(tempfile.mkdtemp(prefix="lbdemo-swarm-"))
    try:
        with _own_bridge():
            async with _engine(image, root, run, log, port) as swarm:
                yield swarm
    finally:
        shutil.rmtree(run, ignore_errors=True)


@contextlib.asynccontextmanager
async def _engine(
    image: str, root: Path, run: Path, log: Path, port: int
) -> AsyncIterator[SwarmEngine]:
    engine, host = await _start_engine(root, run, log)
    try:
        swarm = SwarmEngine(host, image)
        await asyncio.to_thread(_copy_image, swarm)
        await asyncio.to_thread(_leave, swarm)
        await asyncio.to_thread(_init, swarm, port)
        try:
            yield swarm
        finally:
            await asyncio.to_thread(_leave, swarm)
    finally:
        await engine.stop(signal.SIGTERM, timeout_s=ENGINE_STOP_S)
