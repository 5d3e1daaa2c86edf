"""The docker supervisor's decisions on a ``die`` event, with fakes for the engine and the stack
(the real engine's restarts are in test_docker_stack.py): which container it starts, replaces or
leaves, and which events it ignores."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lbdemo.deploy.host import stopped_mark
from lbdemo.docker.stack import DockerReplica
from lbdemo.docker.supervisor import Supervisor


@dataclass
class FakeContainer:
    id: str
    name: str
    started: int = 0

    def start(self) -> None:
        self.started += 1


@dataclass
class FakeEngine:
    containers: dict[str, FakeContainer]
    recreated: list[str] = field(default_factory=list)

    @property
    def client(self) -> Any:
        engine = self

        class Containers:
            def get(self, ref: str) -> FakeContainer:
                return engine.containers[ref]

        class Client:
            containers = Containers()

        return Client()

    async def call(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    def recreate(self, dead: FakeContainer, _password: str) -> FakeContainer:
        self.recreated.append(dead.id)
        return FakeContainer("new-id", dead.name)


@dataclass
class FakeLayout:
    store_per_replica: bool = False


@dataclass
class FakeConfig:
    restart: str
    state_root: Path
    layout: FakeLayout = field(default_factory=FakeLayout)

    @property
    def run_dir(self) -> Path:
        return self.state_root / "run"


class FakeStack:
    admin = None
    image = "lbdemo/app:test"

    def __init__(self, restart: str, state_root: Path) -> None:
        self.config = FakeConfig(restart, state_root)
        self.events: list[dict[str, Any]] = []
        self.admitted: list[str] = []
        self.forgotten: list[str] = []
        self._replicas = {"p-r1": DockerReplica("p-r1", "old-id", "http://x", "img", 1)}

    def replica_named(self, name: str) -> DockerReplica | None:
        return self._replicas.get(name)

    def forget_replica(self, name: str) -> None:
        self._replicas.pop(name, None)

    def store_id(self, name: str) -> str | None:
        return {"p-db": "store-id", "p-db-r9": "r9-store"}.get(name)

    def forget_store(self, name: str) -> None:
        self.forgotten.append(name)

    async def admit_replica(self, container: FakeContainer) -> DockerReplica:
        self.admitted.append(container.id)
        return DockerReplica(container.name, container.id, "http://x", self.image, 1)

    def event(self, kind: str, **fields: Any) -> None:
        self.events.append({"event": kind, **fields})


def die(container_id: str, name: str = "p-r1", service: str = "replica") -> dict[str, Any]:
    return {
        "id": container_id,
        "Actor": {
            "Attributes": {"name": name, "exitCode": "137", "com.docker.compose.service": service}
        },
    }


@pytest.mark.parametrize(
    ("policy", "admitted", "last"),
    [
        ("always", ["old-id"], "restart"),
        ("replace", ["new-id"], "replace"),
        ("no", [], "leave"),
    ],
)
async def test_a_dead_replica_leaves_the_rotation_then_its_policy_applies(
    tmp_path: Path, policy: str, admitted: list[str], last: str
) -> None:
    old = FakeContainer("old-id", "p-r1")
    engine = FakeEngine({"old-id": old})
    stack = FakeStack(policy, tmp_path)
    await Supervisor(stack, engine)._died(die("old-id"))  # type: ignore[arg-type]
    kinds = [e["event"] for e in stack.events]
    assert kinds[:2] == ["die", "leave"] and kinds[-1] == last
    assert stack.admitted == admitted
    assert old.started == (1 if policy == "always" else 0)
    assert engine.recreated == (["old-id"] if policy == "replace" else [])


async def test_the_death_of_a_container_no_longer_in_the_rotation_is_ignored(
    tmp_path: Path,
) -> None:
    engine = FakeEngine({"gone-id": FakeContainer("gone-id", "p-r1")})
    stack = FakeStack("always", tmp_path)
    # a replaced container's die event arriving late: not the replica in the rotation
    await Supervisor(stack, engine)._died(die("gone-id"))  # type: ignore[arg-type]
    assert stack.events == [] and stack.admitted == []


async def test_the_death_of_a_store_the_supervisor_replaced_is_ignored(tmp_path: Path) -> None:
    engine = FakeEngine({"old-store": FakeContainer("old-store", "p-db")})
    stack = FakeStack("replace", tmp_path)
    # the private store removed with its replica: its die event comes after the new one is up
    await Supervisor(stack, engine)._died(die("old-store", "p-db", "store"))  # type: ignore[arg-type]
    assert stack.events == []


async def test_the_death_of_a_private_store_whose_replica_went_is_no_restart(
    tmp_path: Path,
) -> None:
    engine = FakeEngine({"r9-store": FakeContainer("r9-store", "p-db-r9")})
    stack = FakeStack("always", tmp_path)
    # an upgrade removed p-r9 (out of the rotation), then its own store: nothing to bring back
    event = die("r9-store", "p-db-r9", "store")
    event["Actor"]["Attributes"]["io.lbdemo.private-store-of"] = "p-r9"
    await Supervisor(stack, engine)._died(event)  # type: ignore[arg-type]
    assert stack.events == [] and stack.forgotten == ["p-db-r9"]
    assert engine.containers["r9-store"].started == 0


async def test_a_replica_lbdemo_stop_stopped_gets_no_policy_and_rejoins_when_started(
    tmp_path: Path,
) -> None:
    old = FakeContainer("old-id", "p-r1")
    engine = FakeEngine({"old-id": old})
    stack = FakeStack("replace", tmp_path)
    mark = stopped_mark(tmp_path / "run", "p-r1")
    mark.parent.mkdir(parents=True)
    mark.touch()
    supervisor = Supervisor(stack, engine)  # type: ignore[arg-type]
    await supervisor._died(die("old-id"))
    assert [e["event"] for e in stack.events] == ["leave", "stop"]
    assert engine.recreated == [] and stack.admitted == [] and old.started == 0
    await supervisor._died({**die("old-id"), "Action": "start"})
    assert stack.admitted == ["old-id"] and not mark.exists()
    assert stack.events[-1]["event"] == "start"
    # a start the supervisor made itself (no mark): nothing to do
    await supervisor._died({**die("old-id"), "Action": "start"})
    assert stack.admitted == ["old-id"]
