"""The vocabulary and the restart policy both runtimes share (lbdemo/deploy/)."""

from __future__ import annotations

import asyncio

import pytest

from lbdemo.deploy import restart
from lbdemo.deploy.names import DB_NAME, DEFAULT_VOLUME, REPLICA_PREFIX, Project
from lbdemo.errors import ProcessError


def test_one_pattern_names_every_replica_and_store() -> None:
    assert (REPLICA_PREFIX, DB_NAME, DEFAULT_VOLUME) == ("lbdemo-r", "lbdemo-db", "lbdemo-pgdata")
    project = Project("t1")
    assert project.replica_number("t1-r12") == 12
    assert project.replica_number("t1-r") is None and project.replica_number("lbdemo-r1") is None
    assert project.next_replica_name(["t1-r1", "t1-r7", "t1-db", "other"]) == "t1-r8"
    assert project.next_replica_name([]) == "t1-r1"
    assert project.is_stack_name("t1-db") and project.is_stack_name("t1-r3")
    assert not project.is_stack_name("t1-r3x") and not project.is_stack_name("mine")


def _run_backoff(attempt, closing=lambda: False) -> tuple[bool, list[str]]:
    warnings: list[str] = []
    done = asyncio.run(
        restart.with_backoff("lbdemo-r1", "replace", attempt, closing=closing, warn=warnings.append)
    )
    return done, warnings


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(restart, "RESTART_DELAY_S", 0.0)


def test_the_backoff_tries_again_and_says_why() -> None:
    tries = []

    async def attempt() -> None:
        tries.append(1)
        if len(tries) < 3:
            raise OSError("port in use")

    done, warnings = _run_backoff(attempt)
    assert done and len(tries) == 3
    assert warnings == [
        "could not replace lbdemo-r1 (try 1): port in use",
        "could not replace lbdemo-r1 (try 2): port in use",
    ]


def test_the_backoff_gives_up_after_its_attempts_and_when_closing() -> None:
    async def fails() -> None:
        raise OSError("no")

    done, warnings = _run_backoff(fails)
    assert not done and len(warnings) == restart.RESTART_ATTEMPTS

    async def never() -> None:
        raise AssertionError("a closing stack restarts nothing")

    assert _run_backoff(never, closing=lambda: True) == (False, [])


class FakeAdmin:
    def __init__(self, drain_fails: bool) -> None:
        self.calls: list[str] = []
        self.drain_fails = drain_fails

    async def drain(self, name: str, *, wait: bool) -> None:
        self.calls.append(f"drain {name} wait={wait}")
        if self.drain_fails:
            raise ProcessError("balancer says 404")

    async def remove(self, name: str) -> None:
        self.calls.append(f"remove {name}")


@pytest.mark.parametrize("drain_fails", [False, True])
def test_leaving_drains_first_and_removes_even_when_the_drain_fails(drain_fails: bool) -> None:
    admin = FakeAdmin(drain_fails)
    asyncio.run(restart.leave_rotation(admin, "lbdemo-r2", drain=True))  # type: ignore[arg-type]
    assert admin.calls == ["drain lbdemo-r2 wait=True", "remove lbdemo-r2"]
