"""Every stack verb against a running Docker stack, without ``--runtime``: the state root's
``stack.json`` says which runtime runs it, so each verb either acts on the engine or says in one
line (exit 2) which ``docker`` command does it; never "No such object" for a container that
exists, nor "Cannot connect to the lbdemo daemon". With ``--runtime docker`` each answers the
same way."""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lbdemo.config import DOCKER_IMAGE_ENV
from lbdemo.deploy.names import Project
from tests.docker.test_docker_stack import leftovers
from tests.utils import Result, run_cli, run_cli_process

pytestmark = pytest.mark.slow


@dataclass
class Running:
    state: Path
    project: Project
    extra: str  # a stopped container of the project's image, for `rm`
    volume: str  # a volume on the engine, for `volume inspect` and `volume rm`
    up_out: str  # what `up -d --dashboard` printed (its dashboard line)


@pytest.fixture(scope="module")
def docker_stack(
    docker_client: Any, lbdemo_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """``lbdemo up -d --runtime docker --dashboard`` once for the module (two replicas on the
    shared store: an upgrade or a replacement starts no store)."""
    state = tmp_path_factory.mktemp("verbs") / "state"
    project = Project(f"lbdemo-t{secrets.token_hex(3)}")
    extra, volume = f"{project.name}-extra", f"{project.name}-vol"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DOCKER_IMAGE_ENV, lbdemo_image)
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
                "shared",
                "--replicas",
                "2",
                "--port",
                "0",
                "--dashboard",
                "--dashboard-interval",
                "0.2",
            )
            assert up.returncode == 0, up.stderr
            docker_client.containers.create(lbdemo_image, ["replica"], name=extra)
            docker_client.volumes.create(volume)
            yield Running(state, project, extra, volume, up.stdout)
        finally:
            run_cli_process(state, "down")
            for name in [c.name for c in project.containers(docker_client)] + [extra]:
                with contextlib.suppress(Exception):  # gone: what the test's own `rm` did
                    docker_client.containers.get(name).remove(force=True)
            for network in docker_client.networks.list(names=[project.network]):
                network.remove()
            for name in (volume, project.volume):  # the first removed by the test's `volume rm`
                with contextlib.suppress(Exception):
                    docker_client.volumes.get(name).remove(force=True)


def verb(running: Running, *argv: str, runtime: bool = False) -> Result:
    extra = ["--runtime", "docker"] if runtime else []
    words = 2 if argv[0] == "volume" else 1  # the options go after the command's name
    return run_cli(*argv[:words], "--state", str(running.state), *extra, *argv[words:])


def assert_says_which_docker_command(result: Result, command: str) -> None:
    assert result.status == 2, result
    assert result.out == "" and result.err.count("\n") == 1, result
    assert "acts on lbdemo's own runtime" in result.err and command in result.err, result


def assert_no_local_runtime_words(result: Result) -> None:
    for wrong in ("No such object", "Cannot connect to the lbdemo daemon", "No such container"):
        assert wrong not in result.err, result


@pytest.mark.parametrize("runtime", [False, True], ids=["without-runtime", "with-runtime"])
def test_every_stack_verb_works_on_a_docker_stack_or_names_the_docker_command(
    docker_stack: Running, docker_client: Any, runtime: bool
) -> None:
    r1 = docker_stack.project.replica_name(1)
    run = lambda *argv: verb(docker_stack, *argv, runtime=runtime)  # noqa: E731

    ps = run("ps", "-a")
    assert ps.status == 0 and r1 in ps.out and "Up " in ps.out, ps
    inspected = run("inspect", r1)
    assert inspected.status == 0, inspected
    assert json.loads(inspected.out)[0]["Id"] == docker_client.containers.get(r1).id
    status = run("inspect", "-f", "{{.State.Status}}", r1)
    assert (status.status, status.out) == (0, "running\n"), status
    diff = run("diff", r1)
    assert diff.status == 0 and diff.err == "", diff
    logs = run("logs", "--tail", "1", r1)
    assert logs.status == 0 and logs.out.strip(), logs
    got = run("get", "nosuchkey")
    assert got.status == 0 and "(not found)" in got.out, got
    got = run("get", "--each-replica", "nosuchkey")
    assert got.status == 0 and r1 in got.out, got
    hup = run("kill", "-s", "HUP", r1)  # the replica rereads its catalog: alive after
    assert (hup.status, hup.out) == (0, f"{r1}\n"), hup
    assert docker_client.containers.get(r1).status == "running"
    listed = run("volume", "ls", "-q")
    assert listed.status == 0 and docker_stack.volume in listed.out.split(), listed
    volume = run("volume", "inspect", docker_stack.volume)
    assert volume.status == 0 and json.loads(volume.out)[0]["Name"] == docker_stack.volume

    for argv, command in [
        (("images",), "docker images"),
        (("cp", f"{r1}:/etc/hostname", "-"), f"docker cp {r1}:/etc/hostname -"),
        (("volume", "create", "x-vol"), "docker volume create x-vol"),
        (("volume", "prune", "-f"), "docker volume prune"),
        (("run", "-d", "lbdemo/catalog:1.0"), f"docker run --network {docker_stack.project.name} "),
    ]:
        result = run(*argv)
        assert_no_local_runtime_words(result)
        assert_says_which_docker_command(result, command)
    for result in (ps, inspected, diff, logs, got, hup, listed, volume):
        assert_no_local_runtime_words(result)
    assert docker_client.containers.get(r1).status == "running"  # nothing was stopped


def in_rotation(running: Running) -> list[str]:
    described = json.loads((running.state / "run" / "stack.json").read_text())
    return [r["name"] for r in described["replicas"]]


def test_stop_start_and_restart_act_on_the_engine_through_the_stack(
    docker_stack: Running, docker_client: Any
) -> None:
    """``stop`` drains the replica out of the rotation and stops it, and the stack's restart
    policy (``replace``) leaves it stopped; ``start`` and ``restart`` bring the same container
    back into the rotation."""
    r1 = docker_stack.project.replica_name(1)
    before = docker_client.containers.get(r1).id
    stopped = verb(docker_stack, "stop", "-t", "5", r1)
    assert (stopped.status, stopped.out) == (0, f"{r1}\n"), stopped
    assert docker_client.containers.get(r1).status == "exited"
    eventually_sync(lambda: r1 not in in_rotation(docker_stack))
    time.sleep(2)  # time enough for a policy to act: none does
    assert docker_client.containers.get(r1).id == before
    assert docker_client.containers.get(r1).status == "exited"
    for command in ("start", "restart"):
        result = verb(docker_stack, command, r1)
        assert (result.status, result.out) == (0, f"{r1}\n"), result
        eventually_sync(lambda: r1 in in_rotation(docker_stack))
        assert docker_client.containers.get(r1).id == before  # the same container
        got = verb(docker_stack, "get", "nosuchkey")
        assert got.status == 0 and "(not found)" in got.out, got


def test_upgrade_rolls_the_docker_stack_with_no_failed_request(
    docker_stack: Running, docker_client: Any, lbdemo_image: str
) -> None:
    """``lbdemo upgrade`` without ``--runtime``: each replica replaced by a container of the
    new image (here the test image under another tag), while requests through the balancer
    keep being answered."""
    tag = f"lbdemo/app:upgrade-{secrets.token_hex(3)}"
    docker_client.images.get(lbdemo_image).tag(tag)
    described = json.loads((docker_stack.state / "run" / "stack.json").read_text())
    url = described["balancer"]["url"]
    answers: list[int] = []
    done = threading.Event()

    def load() -> None:  # one client, back to back, for as long as the upgrade runs
        while not done.is_set():
            try:
                with urllib.request.urlopen(f"{url}/products/p1", timeout=5) as response:
                    answers.append(response.status)
            except urllib.error.HTTPError as exc:
                answers.append(exc.code)
            except OSError:
                answers.append(-1)

    worker = threading.Thread(target=load)
    worker.start()
    try:
        before = in_rotation(docker_stack)
        upgraded = verb(docker_stack, "upgrade", "--image", tag)
    finally:
        done.set()
        worker.join()
        docker_client.images.remove(tag)
    assert upgraded.status == 0, upgraded
    assert f"{len(before)} replica(s) now run {tag}" in upgraded.out, upgraded
    after = in_rotation(docker_stack)
    assert len(after) == len(before) and not set(after) & set(before), (before, after)
    for name in after:
        assert docker_client.containers.get(name).attrs["Config"]["Image"] == tag
    for name in before:
        assert name not in [c.name for c in docker_client.containers.list(all=True)]
    failed = [a for a in answers if a not in (200, 404)]
    assert answers and failed == [], (len(answers), failed[:5])


def eventually_sync(condition: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.2)


def dashboard_snapshot(running: Running, want: Any, timeout_s: float = 30.0) -> dict[str, Any]:
    """The first snapshot of the dashboard ``up`` printed the link of that ``want`` accepts."""
    line = next(x for x in running.up_out.splitlines() if x.strip().startswith("dashboard"))
    url, _, token = line.split()[1].partition("/#token=")
    request = urllib.request.Request(f"{url}/events", headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + timeout_s
    with urllib.request.urlopen(request, timeout=timeout_s) as stream:
        event = ""
        for raw in stream:
            text = raw.decode().rstrip("\n")
            if text.startswith("event: "):
                event = text[7:]
            elif text.startswith("data: ") and event == "snapshot":
                snapshot: dict[str, Any] = json.loads(text[6:])
                if want(snapshot):
                    return snapshot
            assert time.monotonic() < deadline, "no such snapshot in time"
    raise AssertionError("the stream ended")


def test_the_dashboard_shows_the_engines_containers_and_a_death_from_its_events(
    docker_stack: Running, docker_client: Any
) -> None:
    """``up -d --runtime docker --dashboard`` printed its line; the page lists the replica
    containers (their engine ids, healthy, in the rotation), and a ``docker kill`` is a red
    card from the engine's ``die`` event until its replacement joins."""
    r1, r2 = in_rotation(docker_stack)  # after the upgrade above: its new containers
    shown = dashboard_snapshot(docker_stack, lambda s: len(s.get("replicas") or []) == 2)
    cards = {c["name"]: c for c in shown["replicas"]}
    assert set(cards) == {r1, r2}, cards
    assert cards[r1]["id"] == docker_client.containers.get(r1).id[:12]
    assert {c["health"] for c in cards.values()} == {"healthy"}
    assert {c["rotation"] for c in cards.values()} == {"up"}
    assert shown["stack"]["storage"] == "shared"
    docker_client.containers.get(r2).kill()
    dead = dashboard_snapshot(docker_stack, lambda s: any(c["dead"] for c in s["replicas"]))
    card = next(c for c in dead["replicas"] if c["dead"])
    assert card["name"] == r2 and card["health"] == "died, exit status 137", card
    # its replacement joins while the next test removes the stack: nothing waits for it


def test_load_runs_against_the_docker_stack_and_feeds_its_dashboard(
    docker_stack: Running, tmp_path: Path
) -> None:
    """``lbdemo load`` on the Docker stack: real Locust through its balancer, told to the
    stack's dashboard, checked and reported (its replicas answer as the engine's containers)."""
    out = tmp_path / "load"
    argv = ("--duration", "2", "--users", "2", "--out", str(out))
    result = run_cli("load", "--state", str(docker_stack.state), *argv)
    assert result.status == 0, result
    assert "shown live on the dashboard at http://127.0.0.1:" in result.out + result.err
    report = json.loads((out / "shared-volume.json").read_text())
    assert report["verdict"] == "consistent" and report["totals"]["ops"] > 0, report["totals"]
    history = (out / "shared-volume-history.jsonl").read_text()
    assert any(f'"{name}"' in history for name in in_rotation(docker_stack))


def test_rm_volume_rm_and_down_act_on_the_engine_without_runtime(
    docker_stack: Running, docker_client: Any
) -> None:
    removed = verb(docker_stack, "rm", docker_stack.extra)
    assert (removed.status, removed.out) == (0, f"{docker_stack.extra}\n"), removed
    assert docker_stack.extra not in [c.name for c in docker_client.containers.list(all=True)]
    dropped = verb(docker_stack, "volume", "rm", docker_stack.volume)
    assert (dropped.status, dropped.out) == (0, f"{docker_stack.volume}\n"), dropped
    down = run_cli("down", "--state", str(docker_stack.state))
    assert down.status == 0, down
    assert leftovers(docker_client, docker_stack.project) == []
