"""compose.yaml brought up by Debian's ``docker-compose`` (v1) on the real engine, both stacks in
one project (the shared one and the ``private`` profile's, on free ports), then ``lbdemo demo
--target`` against each: the shared one consistent, the private one not. ``down -v`` afterwards,
also on failure, removes every container, network and volume the project made."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lbdemo.docker import contract
from tests.deploy.compose_file import COMPOSE_FILE
from tests.utils import THINK_MS, run_cli_async

if TYPE_CHECKING:
    from docker import DockerClient

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("docker-compose") is None,
        reason="no docker-compose: install Debian's docker-compose",
    ),
]

UP_TIMEOUT_S = 300
HEALTHY_TIMEOUT_S = 120
DOWN_TIMEOUT_S = 120
PORT_VARIABLES = (
    "LBDEMO_PORT",
    "LBDEMO_REPLICA_1_PORT",
    "LBDEMO_REPLICA_2_PORT",
    "LBDEMO_REPLICA_3_PORT",
    "LBDEMO_PRIVATE_PORT",
    "LBDEMO_PRIVATE_REPLICA_1_PORT",
    "LBDEMO_PRIVATE_REPLICA_2_PORT",
    "LBDEMO_PRIVATE_REPLICA_3_PORT",
)


def _free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 right now, all different, and below the kernel's ephemeral range:
    between this check and compose binding them, no port-0 listener or outgoing connection of
    another process (another test worker's stack, say) can be given one of them."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    candidates = list(range(max(1024, low - 12000), low))
    rng = random.Random()
    rng.shuffle(candidates)
    ports: list[int] = []
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise AssertionError("no free ports below the ephemeral range")


@contextlib.contextmanager
def compose_project(image: str, tmp_path: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    """A unique project's ``docker-compose`` command line and environment; ``down -v`` on exit."""
    project = f"lbdemo-compose-{uuid.uuid4().hex[:10]}"
    empty = tmp_path / "compose.env"  # never the user's .env beside compose.yaml
    empty.write_text("")
    password = tmp_path / "pgpassword"
    password.write_text(secrets.token_hex(16) + "\n")
    # readable by the containers' user, as docs/docker.md tells a user to make it
    if os.geteuid() == 0:
        os.chown(password, contract.UID, contract.GID)
        password.chmod(0o400)
    else:
        password.chmod(0o444)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LBDEMO_IMAGE": image,
        "LBDEMO_PG_PASSWORD_FILE": str(password),
        **{
            name: str(port)
            for name, port in zip(PORT_VARIABLES, _free_ports(len(PORT_VARIABLES)), strict=True)
        },
    }
    command = [
        "docker-compose",
        "--env-file",
        str(empty),
        "-f",
        str(COMPOSE_FILE),
        "-p",
        project,
        "--profile",
        "private",
    ]
    try:
        yield command, env
    finally:
        subprocess.run(
            [*command, "down", "-v", "--timeout", "5"],
            env=env,
            capture_output=True,
            timeout=DOWN_TIMEOUT_S,
            check=False,
        )


async def _all_healthy(client: DockerClient, project: str, timeout_s: float) -> float:
    """Seconds until every container of ``project`` reports healthy (docker-compose v1 has no
    ``up --wait``): the balancers are, once a replica answers through them."""
    began = time.monotonic()
    while True:
        containers = client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={project}"}
        )
        health = {
            c.name: c.attrs["State"].get("Health", {}).get("Status")
            for c in (client.containers.get(c.id) for c in containers)
        }
        if health and all(status == "healthy" for status in health.values()):
            return time.monotonic() - began
        if time.monotonic() - began > timeout_s:
            raise AssertionError(f"not healthy after {timeout_s:.0f} s: {health}")
        await asyncio.sleep(0.5)


def _urls(env: dict[str, str], prefix: str) -> tuple[str, str]:
    balancer = f"http://127.0.0.1:{env[f'LBDEMO_{prefix}PORT']}"
    replicas = ",".join(
        f"http://127.0.0.1:{env[f'LBDEMO_{prefix}REPLICA_{i}_PORT']}" for i in (1, 2, 3)
    )
    return balancer, replicas


async def test_compose_up_then_demo_target_shows_the_contrast(
    docker_client: DockerClient, lbdemo_image: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with compose_project(lbdemo_image, tmp_path) as (compose, env):
        began = time.monotonic()
        up = subprocess.run(
            [*compose, "up", "-d", "--no-build"],
            env=env,
            capture_output=True,
            text=True,
            timeout=UP_TIMEOUT_S,
            check=False,
        )
        up_s = time.monotonic() - began
        assert up.returncode == 0, up.stderr[-2000:]
        project = compose[compose.index("-p") + 1]
        healthy_s = await _all_healthy(docker_client, project, HEALTHY_TIMEOUT_S)
        containers = docker_client.containers.list(
            filters={"label": f"com.docker.compose.project={project}"}
        )
        by_service = {c.labels["com.docker.compose.service"]: c for c in containers}
        assert len(by_service) == 12  # two balancers, six replicas, four stores

        # where the data lives: the shared store on the project's named volume, the private
        # ones in their own layers; and nothing published beyond loopback
        volume = f"{project}_lbdemo-pgdata"
        assert volume in {v.name for v in docker_client.volumes.list()}
        for service, container in by_service.items():
            mounts = {m["Destination"]: m for m in container.attrs["Mounts"]}
            if service == "db":
                assert mounts[contract.PGDATA]["Name"] == volume
            else:
                assert contract.PGDATA not in mounts, service
            bindings = [b for bs in container.ports.values() if bs for b in bs]
            assert all(b["HostIp"] == "127.0.0.1" for b in bindings), service

        reports = {}
        for layout, prefix in (("shared", ""), ("private", "PRIVATE_")):
            target, replica_urls = _urls(env, prefix)
            result = await run_cli_async(
                "demo",
                "--state",
                str(tmp_path / "state"),
                "--out",
                str(out),
                "--target",
                target,
                "--replica-urls",
                replica_urls,
                "--layouts",
                layout,
                "--duration",
                "4",
                "--users",
                "8",
                "--think-time",
                str(THINK_MS),
            )
            assert result.status == 0, result
            reports[layout] = json.loads((out / f"{layout}.json").read_text())

    # the figures of this run, for whoever reads the test's output (-s)
    print(f"\ncompose up -d (12 containers): {up_s:.1f} s, all healthy {healthy_s:.1f} s later")
    for layout, report in reports.items():
        print(
            f"{layout}: {report['verdict']}, {report['totals']['ops']} ops, "
            f"{report['ops_per_s']:.0f} ops/s, p50 {report['latency_ms']['all']['p50']:.1f} ms, "
            f"{report['anomalies']['stale_read']['count']} stale reads, "
            f"{report['divergent_keys']['count']} divergent keys"
        )
    assert reports["shared"]["verdict"] == "consistent"
    assert reports["private"]["verdict"] == "inconsistent"
    for layout, report in reports.items():
        assert report["run"]["layout"]["runtime"] == "target"
        names = sorted(r["replica"] for r in report["replicas"])
        prefix = "private-" if layout == "private" else ""
        assert names == [f"{prefix}replica-{i}" for i in (1, 2, 3)], "X-Replica: the services"
        # the load went through the balancer to every replica, and the audit read every one
        assert all(r["ops"] > 0 and r["rows"] > 0 for r in report["replicas"]), report["replicas"]

    left = docker_client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={project}"}
    )
    assert left == [] and volume not in {v.name for v in docker_client.volumes.list()}
