"""``--discover``: replicas found by DNS, followed as the answer changes (a fake resolver), and
the balancer serving through what a real lookup found."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable

import pytest

from lbdemo.balancer.__main__ import build_parser, config_from_args
from lbdemo.balancer.config import Upstream
from lbdemo.balancer.discovery import Discovery, member_name
from lbdemo.balancer.pool import Replica, ReplicaSet
from lbdemo.errors import UsageError
from tests.balancer.fakes import BalancerFactory, FakeReplica
from tests.balancer.test_balancer_admin import served_by


class Answers:
    """A resolver that gives the next of ``answers`` at each lookup (an exception is raised)."""

    def __init__(self, *answers: list[str] | OSError) -> None:
        self.answers = list(answers)

    async def __call__(self, host: str, port: int) -> Iterable[str]:
        assert (host, port) == ("tasks.replica", 8000)
        answer = self.answers.pop(0)
        if isinstance(answer, OSError):
            raise answer
        return answer


async def test_members_follow_the_answer_and_a_failed_lookup_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    replicas = ReplicaSet((Upstream("static", "127.0.0.1", 9),))
    removed: list[str] = []

    async def remove(replica: Replica) -> bool:
        removed.append(replica.name)
        replicas.remove(replica)
        return True

    nxdomain = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    resolve = Answers(["10.0.1.5", "10.0.1.6"], ["10.0.1.6", "10.0.1.7"], nxdomain, nxdomain, [])
    spec = Upstream("replica", "tasks.replica", 8000)
    discovery = Discovery(spec, replicas, remove, resolve=resolve)

    def names() -> list[str]:
        return sorted(r.name for r in replicas)

    assert await discovery.refresh()
    assert names() == ["replica-10.0.1.5", "replica-10.0.1.6", "static"]
    assert {(r.host, r.port) for r in replicas if r.name != "static"} == {
        ("10.0.1.5", 8000),
        ("10.0.1.6", 8000),
    }
    assert await discovery.refresh()
    await asyncio.sleep(0)  # the removal runs in the background: one turn of the loop
    assert removed == ["replica-10.0.1.5"]
    assert names() == ["replica-10.0.1.6", "replica-10.0.1.7", "static"]
    assert not await discovery.refresh()  # NXDOMAIN: kept as they were
    assert not await discovery.refresh()
    assert names() == ["replica-10.0.1.6", "replica-10.0.1.7", "static"]
    failed = [r for r in caplog.records if "lookup failed" in r.getMessage()]
    assert len(failed) == 1, "said once, not at every lookup"
    assert await discovery.refresh()  # an empty answer: every member it made goes, not others
    await asyncio.sleep(0)
    await discovery.stop()
    assert names() == ["static"]


def test_member_names_are_plain_replica_names() -> None:
    assert member_name("replica", "10.0.1.5") == "replica-10.0.1.5"
    assert member_name("r", "fd00::1") == "r-fd00..1"


def test_discover_is_parsed_like_upstream_and_named_in_its_errors() -> None:
    args = build_parser().parse_args(
        ["--discover", "replica=http://tasks.replica:8000", "--discover-interval", "0.5"]
    )
    config = config_from_args(args, None)
    assert config.discover == (Upstream("replica", "tasks.replica", 8000),)
    assert config.discover_interval == 0.5
    with pytest.raises(UsageError, match="--discover"):
        config_from_args(build_parser().parse_args(["--discover", "tasks.replica"]), None)
    with pytest.raises(UsageError, match="discover_interval"):
        config_from_args(build_parser().parse_args(["--discover-interval", "0"]), None)


async def test_a_balancer_serves_through_the_replicas_a_real_lookup_found(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    first = replicas[0]
    balancer = await make_balancer([], discover=(Upstream("found", "127.0.0.1", first.port),))
    # looked up before start() returned: the first request already has a replica
    assert [r.name for r in balancer.replicas] == ["found-127.0.0.1"]
    assert await served_by(balancer, 3) == [first.name] * 3
