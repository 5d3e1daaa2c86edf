"""deploy/swarm/stack.yaml deployed with ``docker stack deploy`` on a single-node swarm (a dockerd
of its own: tests/docker/swarm.py says why), then ``lbdemo demo --target`` against each layout's
balancer with every replica task's own published port for the audit: the shared layout
consistent, the private one not. The stack is removed and the swarm left afterwards, also on
failure."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.docker.swarm import SwarmEngine, single_node_swarm
from tests.docker.test_compose_up import _free_ports
from tests.utils import THINK_MS, run_cli_async

pytestmark = [pytest.mark.slow, pytest.mark.docker]

STACK_FILE = Path(__file__).resolve().parents[2] / "deploy" / "swarm" / "stack.yaml"
STACK = "lbdemo"
REPLICAS = 2  # per layout: enough for the contrast, and two PostgreSQL fewer to start
SERVICES = {"db": 1, "replica": REPLICAS, "balancer": 1}
SERVICES |= {"private-replica": REPLICAS, "private-balancer": 1}
RUNNING_TIMEOUT_S = 240
GONE_TIMEOUT_S = 60


@pytest.fixture
def swarm_root(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The swarm engine's data root, kept in pytest's cache (the image copied in stays)."""
    cache = getattr(pytestconfig, "cache", None)  # absent under -p no:cacheprovider
    if cache is None:
        return tmp_path_factory.mktemp("swarm-engine")
    return Path(cache.mkdir("lbdemo-swarm-engine"))


def _task_ports(swarm: SwarmEngine) -> dict[str, list[int]]:
    """Each service's running tasks' published host ports (of tasks that publish), or KeyError
    while a service has fewer running tasks than it wants."""
    ports: dict[str, list[int]] = {}
    for service, wanted in SERVICES.items():
        lines = swarm.docker(
            "service",
            "ps",
            f"{STACK}_{service}",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.CurrentState}}|{{.Ports}}",
        ).splitlines()
        running = [line.split("|", 1)[1] for line in lines if line.startswith("Running")]
        if len(running) < wanted:
            raise KeyError(service)
        # "*:32771->8000/tcp": the engine's own choice of port, bound on 127.0.0.1
        ports[service] = [int(p.split("->")[0].split(":")[-1]) for p in running if p]
    return ports


async def _until_running(swarm: SwarmEngine) -> dict[str, list[int]]:
    deadline = time.monotonic() + RUNNING_TIMEOUT_S
    while True:
        with contextlib.suppress(KeyError):
            return await asyncio.to_thread(_task_ports, swarm)
        if time.monotonic() > deadline:
            states = swarm.docker("service", "ps", "--no-trunc", f"{STACK}_replica", f"{STACK}_db")
            raise AssertionError(f"not running after {RUNNING_TIMEOUT_S} s:\n{states}")
        await asyncio.sleep(0.5)


def _replica_names_through(balancer: str, count: int) -> set[str]:
    """The replicas (X-Replica) that answer through ``balancer``, once it has found ``count``:
    it looks tasks.SERVICE up every second, round robin shows them all within a few requests."""
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while len(seen) < count and time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{balancer}/healthz", timeout=3) as response,
        ):
            seen.add(response.headers.get("X-Replica", ""))
        time.sleep(0.05)
    return seen


def _every_store_answers(urls: list[str]) -> None:
    """A read of a product nobody wrote (404) from each replica directly: its store answers a
    query, not only the health check's ``SELECT 1`` (a first query on a store just started,
    on a busy machine, can take seconds: not inside the demo's 3 s of load)."""
    for url in urls:
        try:
            urllib.request.urlopen(f"{url}/products/swarm-probe", timeout=60).close()
        except urllib.error.HTTPError as exc:
            assert exc.code == 404, f"{url}: HTTP {exc.code}"


async def test_stack_deploy_on_a_swarm_gives_the_contrast(
    lbdemo_image: str, swarm_root: Path, tmp_path: Path
) -> None:
    manager, port, private_port = _free_ports(3)
    password = tmp_path / "pgpassword"
    password.write_text(secrets.token_hex(16) + "\n")
    password.chmod(0o400)  # read by the docker command; the stack makes the secret uid 10001's
    reports = {}
    log = tmp_path / "dockerd.log"
    async with single_node_swarm(lbdemo_image, swarm_root, log, manager) as swarm:
        env = swarm.env(
            LBDEMO_IMAGE=lbdemo_image,
            LBDEMO_PG_PASSWORD_FILE=str(password),
            LBDEMO_PORT=str(port),
            LBDEMO_PRIVATE_PORT=str(private_port),
            LBDEMO_REPLICAS=str(REPLICAS),
        )
        began = time.monotonic()
        deploy = ["stack", "deploy", "--resolve-image", "never", "-c", str(STACK_FILE), STACK]
        swarm.docker(*deploy, env=env)
        try:
            ports = await _until_running(swarm)
            running_s = time.monotonic() - began
            for prefix, balancer_port in (("", port), ("private-", private_port)):
                balancer = f"http://127.0.0.1:{balancer_port}"
                names = await asyncio.to_thread(_replica_names_through, balancer, REPLICAS)
                assert names == {f"{prefix}replica-{i}" for i in range(1, REPLICAS + 1)}
                assert len(ports[f"{prefix}replica"]) == REPLICAS
                urls = [f"http://127.0.0.1:{p}" for p in ports[f"{prefix}replica"]]
                await asyncio.to_thread(_every_store_answers, urls)
            # one after the other: two Locust processes starting at once on two busy
            # cores can spend the whole 3 s starting
            for layout, prefix, balancer_port in (
                ("shared", "", port),
                ("private", "private-", private_port),
            ):
                result = await run_cli_async(
                    "demo",
                    "--state",
                    str(tmp_path / layout),
                    "--out",
                    str(tmp_path / "out"),
                    "--target",
                    f"http://127.0.0.1:{balancer_port}",
                    "--replica-urls",
                    ",".join(f"http://127.0.0.1:{p}" for p in ports[f"{prefix}replica"]),
                    "--layouts",
                    layout,
                    "--duration",
                    "3",
                    "--users",
                    "8",
                    "--think-time",
                    str(THINK_MS),
                )
                assert result.status == 0, result
                reports[layout] = json.loads((tmp_path / "out" / f"{layout}.json").read_text())
            volume = swarm.docker(
                "volume",
                "ls",
                "--filter",
                f"label=com.docker.stack.namespace={STACK}",
                "--format",
                "{{.Name}}",
            ).split()
            assert volume == [f"{STACK}_pgdata"], "the shared store's data on a named volume"
        finally:
            swarm.docker("stack", "rm", STACK)
            await _until_gone(swarm)

    print(f"\nstack deploy: every task running {running_s:.1f} s after deploy")
    for layout, report in reports.items():
        print(
            f"{layout}: {report['verdict']}, {report['totals']['ops']} ops, "
            f"{report['anomalies']['stale_read']['count']} stale reads, "
            f"{report['divergent_keys']['count']} divergent keys"
        )
    assert reports["shared"]["verdict"] == "consistent"
    assert reports["private"]["verdict"] == "inconsistent"
    for layout, report in reports.items():
        prefix = "private-" if layout == "private" else ""
        names = sorted(r["replica"] for r in report["replicas"])
        assert names == [f"{prefix}replica-{i}" for i in range(1, REPLICAS + 1)]
        # the load reached every task through the balancer, and the audit read every one
        assert all(r["ops"] > 0 and r["rows"] > 0 for r in report["replicas"]), report["replicas"]


async def _until_gone(swarm: SwarmEngine) -> None:
    """No container, and then no volume, of the stack left (the engine's data root is kept)."""
    deadline = time.monotonic() + GONE_TIMEOUT_S
    while swarm.docker("ps", "-aq").split() and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    swarm.docker("volume", "prune", "--force")
