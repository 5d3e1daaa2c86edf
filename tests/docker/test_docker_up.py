"""``lbdemo up -d --runtime docker`` and ``lbdemo down`` as real processes on the real engine:
the stack's containers exist while it runs, labelled with its project, and are gone after."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from lbdemo.config import DOCKER_IMAGE_ENV
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from lbdemo.deploy.names import Project
from lbdemo.docker.stack import DockerStack
from lbdemo.errors import StateError
from tests.docker.test_docker_stack import leftovers
from tests.test_results_schemas import problems
from tests.utils import run_cli, run_cli_process

pytestmark = pytest.mark.slow


def test_up_detached_on_docker_then_down(
    docker_client: Any, lbdemo_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DOCKER_IMAGE_ENV, lbdemo_image)
    project = Project(f"lbdemo-t{secrets.token_hex(3)}")
    state = tmp_path / "state"
    try:
        up = run_cli_process(
            state,
            "up",
            "-d",
            "--runtime",
            "docker",
            "--project",
            project.name,
            "--storage",
            "private",
            "--replicas",
            "1",
            "--port",
            "0",
        )
        assert up.returncode == 0, up.stderr
        assert f"{project.name}-r1" in up.stdout and "lbdemo down" in up.stdout
        described = json.loads((state / "run" / "stack.json").read_text())
        assert described["layout"]["runtime"] == "docker"
        assert described["docker"]["image"] == lbdemo_image
        assert problems(described) == []  # docs/schemas/lbdemo-stack-1.schema.json
        running = {c.name: c.image.id for c in project.containers(docker_client, all=False)}
        image_id = docker_client.images.get(lbdemo_image).id
        assert running == {
            project.replica_name(1): image_id,
            project.private_store_name(project.replica_name(1)): image_id,
        }
        # the replica's port is published on loopback only
        replica = docker_client.containers.get(project.replica_name(1))
        bindings = replica.attrs["NetworkSettings"]["Ports"]["8000/tcp"]
        assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}
        # another state root's stack of the same project is refused, and takes nothing down
        other = DockerStack(
            StackConfig(
                state_root=tmp_path / "other",
                layout=Layout.from_options("private"),
                replicas=1,
                balancer_listen="127.0.0.1:0",
                runtime="docker",
                project=project.name,
            )
        )
        with pytest.raises(StateError, match="in use by the stack of"):
            asyncio.run(other.start())
        assert {c.name for c in project.containers(docker_client, all=False)} == set(running)
        # the container commands, on the engine
        ps = run_cli("ps", "--runtime", "docker", "--project", project.name)
        assert ps.status == 0 and ps.out.splitlines()[0].split() == [
            "CONTAINER",
            "ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES",
        ]
        row = next(line for line in ps.out.splitlines() if line.endswith(project.replica_name(1)))
        assert "Up " in row and "127.0.0.1:" in row and "->8000/tcp" in row
        old_id = replica.id
        killed = run_cli("kill", "--runtime", "docker", project.replica_name(1))
        assert killed.status == 0 and killed.out == f"{project.replica_name(1)}\n"
        # `up`'s supervisor (another process) saw it die: replaced (up's default policy)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            quiet = run_cli(
                "ps", "--runtime", "docker", "--project", project.name, "-q", "--no-trunc"
            )
            running = {c.name: c.id for c in project.containers(docker_client, all=False)}
            fresh = running.get(project.replica_name(1))  # none while being replaced
            if fresh not in (None, old_id) and fresh in quiet.out:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the killed replica was not replaced")
        logs = run_cli("logs", "--runtime", "docker", "--tail", "1", project.replica_name(1))
        assert logs.status == 0
        missing = run_cli("rm", "--runtime", "docker", f"{project.name}-nosuch")
        assert missing.status == 1 and missing.err.startswith("Error response from daemon: ")
        down = run_cli_process(state, "down")
        assert down.returncode == 0, down.stderr
        assert leftovers(docker_client, project) == []
    finally:
        # the background `up` (and its balancer) is this test's process too: stopped even when
        # an assertion above failed before the `down` it checks
        run_cli_process(state, "down")
        for container in project.containers(docker_client):
            container.remove(force=True)
        for network in docker_client.networks.list(names=[project.network]):
            network.remove()
