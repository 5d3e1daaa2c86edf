"""``--runtime docker`` on the real engine: the demo's contrast, the shared store's volume, and
restart policies with Docker's meaning (``always``: the same container and its layer;
``replace``: a new container, an empty layer). Every container and network a test makes is gone
after it; the one volume the module makes is removed at its end."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from lbdemo.config import DOCKER_IMAGE_ENV
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from lbdemo.deploy.names import Project
from lbdemo.docker.stack import DockerStack
from tests.utils import THINK_MS, eventually, run_cli_async

pytestmark = pytest.mark.slow

MARKER = "/tmp/written-before-the-kill"


@dataclass
class DemoRun:
    project: Project
    state: Path
    out: Path
    status: int
    err: str


def leftovers(client: Any, project: Project) -> list[str]:
    """What of the project is still on the engine: containers (running or not) and its network."""
    containers = [c.name for c in project.containers(client)]
    networks = [
        n.name for n in client.networks.list(names=[project.network]) if n.name == project.network
    ]
    return containers + networks


@pytest.fixture(scope="module")
def image_env(lbdemo_image: str) -> Iterator[str]:
    """The CLI runs the test session's image instead of building its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DOCKER_IMAGE_ENV, lbdemo_image)
        yield lbdemo_image


@pytest_asyncio.fixture(scope="module")
async def demo_run(
    docker_client: Any, image_env: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DemoRun]:
    """``lbdemo demo --runtime docker --duration 5`` once for the module, under a project name
    of its own; its shared volume removed at the end."""
    base = tmp_path_factory.mktemp("docker-demo")
    project = Project(f"lbdemo-t{secrets.token_hex(3)}")
    state, out = base / "state", base / "out"
    try:
        result = await run_cli_async(
            "demo",
            "--runtime",
            "docker",
            "--project",
            project.name,
            "--duration",
            "5",
            "--replicas",
            "2",
            "--users",
            "10",
            "--think-time",
            str(THINK_MS),
            "--state",
            str(state),
            "--out",
            str(out),
        )
        yield DemoRun(project, state, out, result.status, result.err)
    finally:
        with contextlib.suppress(Exception):
            docker_client.volumes.get(project.volume).remove(force=True)


def report(run: DemoRun, label: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run.out / f"{label}.json").read_text())
    return data


async def test_the_demo_on_docker_shows_private_inconsistent_and_shared_consistent(
    demo_run: DemoRun, docker_client: Any, lbdemo_image: str
) -> None:
    assert demo_run.status == 0, demo_run.err
    private, shared = report(demo_run, "private"), report(demo_run, "shared")
    assert private["run"]["layout"]["runtime"] == "docker"
    assert private["anomalies"]["stale_read"]["count"] > 0
    assert private["divergent_keys"]["count"] > 0
    assert private["verdict"] == "inconsistent"
    assert shared["run"]["layout"]["volume"] == demo_run.project.volume
    assert shared["anomalies"]["stale_read"]["count"] == 0
    assert shared["divergent_keys"]["count"] == 0
    assert shared["verdict"] == "consistent"
    # what ran it, from the engine itself
    docker = shared["run"]["docker"]
    assert docker["image"] == lbdemo_image
    assert docker["image_id"] == docker_client.images.get(lbdemo_image).id
    assert docker["engine"] == docker_client.version()["Version"]
    # the replicas answered as their containers
    history = (demo_run.out / "private-history.jsonl").read_text()
    assert f'"{demo_run.project.name}-r2"' in history
    assert leftovers(docker_client, demo_run.project) == []


def started_stack(state: Path, project: Project, storage: str, restart: str) -> DockerStack:
    return DockerStack(
        StackConfig(
            state_root=state,
            layout=Layout.from_options(storage, volume=project.volume),
            replicas=1,
            balancer_listen="127.0.0.1:0",
            restart=restart,
            runtime="docker",
            project=project.name,
        )
    )


async def get_json(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json(content_type=None)


async def kill_and_wait(stack: DockerStack, kind: str) -> dict[str, Any]:
    """``docker kill`` the replica through the engine; the event the policy ends with."""
    replica = stack.replicas[0]
    container = stack.engine.client.containers.get(replica.name)  # type: ignore[union-attr]
    await asyncio.to_thread(container.kill)

    def ended(e: dict[str, Any]) -> bool:  # the replica's own (not its private store's)
        return bool(e["event"] == kind and e.get("name") == replica.name)

    await eventually(lambda: any(ended(e) for e in stack.events), timeout_s=60)
    return next(e for e in stack.events if ended(e))


def read_marker(client: Any, name: str) -> tuple[int, bytes]:
    code, output = client.containers.get(name).exec_run(["cat", MARKER])
    return int(code), bytes(output)


async def test_the_volume_outlives_its_store_and_always_restarts_the_same_container(
    demo_run: DemoRun, docker_client: Any
) -> None:
    project = demo_run.project
    assert project.volume in [v.name for v in docker_client.volumes.list()]
    # a key the demo's shared run wrote, with the value every replica held at its end
    audit = json.loads((demo_run.out / "shared-audit.json").read_text())
    first_replica = next(iter(audit["replicas"].values()))
    key, held = next((k, v) for k, v in first_replica.items() if v)
    stack = started_stack(demo_run.state, project, "shared", restart="always")
    await stack.start()
    try:
        # a new store container mounted the volume: the data of the removed one is there
        status, product = await get_json(f"{stack.url}/products/{key}")
        assert status == 200 and product["write_id"] == held
        # the engine refuses to remove a volume in use, and the CLI says so in its words
        with pytest.raises(Exception, match="in use"):
            docker_client.volumes.get(project.volume).remove()
        refused = await run_cli_async("volume", "rm", "--runtime", "docker", project.volume)
        assert refused.status == 1 and "in use" in refused.err, refused
        assert refused.err.startswith("Error response from daemon: ")
        listed = await run_cli_async("volume", "ls", "--runtime", "docker", "-q")
        assert project.volume in listed.out.split()
        inspected = await run_cli_async(
            "volume",
            "inspect",
            "--runtime",
            "docker",
            "-f",
            "{{.Name}} {{.Driver}}",
            project.volume,
        )
        assert inspected.out == f"{project.volume} local\n"

        name, old = stack.replicas[0].name, stack.replicas[0]
        code, _ = docker_client.containers.get(name).exec_run(["sh", "-c", f"echo kept > {MARKER}"])
        assert code == 0
        event = await kill_and_wait(stack, "restart")
        assert event["id"] == old.id
        assert docker_client.containers.get(name).id == old.id  # the same container ...
        assert read_marker(docker_client, name) == (0, b"kept\n")  # ... with its layer
        # back in the rotation, at the port the engine published this time
        await eventually(lambda: [r.name for r in stack.replicas] == [name])
        status, _ = await get_json(f"{stack.url}/healthz")
        assert status == 200
    finally:
        await stack.stop()
    assert leftovers(docker_client, project) == []
    assert project.volume in [v.name for v in docker_client.volumes.list()]


async def test_replace_makes_a_new_container_with_an_empty_layer(
    docker_client: Any, image_env: str, tmp_path: Path
) -> None:
    project = Project(f"lbdemo-t{secrets.token_hex(3)}")
    stack = started_stack(tmp_path / "state", project, "private", restart="replace")
    await stack.start()
    try:
        name, old = stack.replicas[0].name, stack.replicas[0]
        code, _ = docker_client.containers.get(name).exec_run(["sh", "-c", f"echo kept > {MARKER}"])
        assert code == 0
        event = await kill_and_wait(stack, "replace")
        assert event["old_id"] == old.id and event["new_id"] != old.id
        assert docker_client.containers.get(name).id == event["new_id"]
        assert read_marker(docker_client, name)[0] != 0  # a fresh layer: the file is not there
        await eventually(lambda: [r.id for r in stack.replicas] == [event["new_id"]])
        status, _ = await get_json(f"{stack.url}/healthz")
        assert status == 200
    finally:
        await stack.stop()
    assert leftovers(docker_client, project) == []
    assert project.volume not in [v.name for v in docker_client.volumes.list()]


async def put_json(url: str, body: dict[str, Any]) -> int:
    async with aiohttp.ClientSession() as http, http.put(url, json=body) as response:
        return response.status


@pytest.mark.parametrize(("policy", "kept"), [("replace", False), ("always", True)])
async def test_a_replicas_private_data_goes_with_it_under_replace_and_stays_under_always(
    docker_client: Any, image_env: str, tmp_path: Path, policy: str, kept: bool
) -> None:
    """Lesson 9 on the real engine: a key written straight to a replica (its private store
    container ``-db-r1``) is gone from its successor under ``replace``, there under ``always``."""
    project = Project(f"lbdemo-t{secrets.token_hex(3)}")
    stack = started_stack(tmp_path / "state", project, "private", restart=policy)
    await stack.start()
    try:
        replica = stack.replicas[0]
        store = project.private_store_name(replica.name)
        store_before = docker_client.containers.get(store).id
        body = {"price": 7, "write_id": "before-the-kill"}
        assert await put_json(f"{replica.url}/products/lesson9", body) == 200
        await kill_and_wait(stack, "restart" if policy == "always" else "replace")
        await eventually(lambda: len(stack.replicas) == 1, timeout_s=60)
        status, product = await get_json(f"{stack.replicas[0].url}/products/lesson9")
        assert (status == 200) is kept, product
        store_after = docker_client.containers.get(store).id
        assert (store_after == store_before) is kept
        if kept:
            assert product["write_id"] == "before-the-kill"
            await faults_on_the_engine(stack, docker_client)
        # the replaced store's death was not taken for one to restart
        assert not [e for e in stack.events if e["event"] == "warning"], stack.events
    finally:
        await stack.stop()
    assert leftovers(docker_client, project) == []


async def faults_on_the_engine(stack: DockerStack, client: Any) -> None:
    """The faults scenario's moves with Docker's own mechanisms (the stack as a
    :class:`~lbdemo.deploy.live.LiveStack`): ``docker pause`` freezes the replica (no answer,
    nothing dies) until ``docker unpause``; ``docker kill`` of its store container is seen in
    the engine's events and the store restarted as itself, its data still in its layer."""
    replica = stack.replicas[0]
    await stack.pause(replica.name)
    assert client.containers.get(replica.name).status == "paused"
    with pytest.raises((aiohttp.ClientError, TimeoutError)):
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5)) as http:
            await http.get(f"{replica.url}/healthz")
    await stack.unpause(replica.name)
    assert (await get_json(f"{replica.url}/healthz"))[0] == 200
    mark = len(stack.events)
    kill = await stack.kill_store(replica.name)
    assert kill.target == stack.project.private_store_name(replica.name), kill
    assert (kill.heal_event, kill.heal_name) == ("restart", kill.target)

    def restarted() -> bool:
        return any(
            e["event"] == "restart" and e.get("name") == kill.target for e in stack.events[mark:]
        )

    await eventually(restarted, timeout_s=60)
    assert any(e["event"] == "die" and e.get("name") == kill.target for e in stack.events[mark:])

    async def answers() -> bool:
        return (await get_json(f"{replica.url}/products/lesson9"))[0] == 200

    await eventually_async(answers)


async def eventually_async(check: Any, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.2)


def answers_of(transcript: str, name: str) -> list[str]:
    """The banner lines of each GET the pets lesson asked ``name`` directly, in order."""
    blocks = transcript.split("```")
    return [
        b.split("\n")[2]
        for b in blocks
        if b.startswith("\n> GET ") and f"(asked {name} directly)" in b.split("\n")[1]
    ]


async def test_pets_on_docker_a_patch_dies_with_its_container_a_bind_mount_survives(
    docker_client: Any, image_env: str, tmp_path: Path
) -> None:
    """``lbdemo demo --runtime docker --scenario pets``: a file docker-cp'd into r1 is gone
    from its replacement; a config bind-mounted from the host outlives the container."""
    project = Project(f"lbdemo-t{secrets.token_hex(3)}")
    state, out = tmp_path / "state", tmp_path / "out"
    try:
        result = await run_cli_async(
            "demo",
            "--runtime",
            "docker",
            "--project",
            project.name,
            "--scenario",
            "pets",
            "--state",
            str(state),
            "--out",
            str(out),
        )
    finally:
        with contextlib.suppress(Exception):
            docker_client.volumes.get(project.volume).remove(force=True)
    assert result.status == 0, result.err
    r1, cattle = project.replica_name(1), f"{project.name}-cattle"
    assert answers_of(result.out, r1) == [
        "X-Catalog-Banner: patched by hand in lbdemo-r1",  # patched in its layer
        "X-Catalog-Banner: (none)",  # its replacement: the patch is gone
    ]
    assert answers_of(result.out, cattle) == [
        "X-Catalog-Banner: from the host's ./config",
        "X-Catalog-Banner: edited on the host, v2",  # edited on the host, reloaded
        "X-Catalog-Banner: edited on the host, v2",  # its replacement: kept
    ]
    assert (out / "pets.md").read_text().endswith(result.out)
    assert leftovers(docker_client, project) == []
