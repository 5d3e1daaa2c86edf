"""A real stack (PostgreSQL, replica processes, balancer process) in each storage layout."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
from pathlib import Path

import asyncpg
import pytest
from aiohttp import ClientSession

from lbdemo.errors import StateError
from lbdemo.process.pids import pid_alive
from lbdemo.store.embedded import ServerInfo
from tests.test_results_schemas import problems
from tests.utils import running_stack

pytestmark = pytest.mark.slow

_ids = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_ids)}"


async def test_round_robin_is_per_request_over_one_keep_alive_connection(tmp_path: Path) -> None:
    async with running_stack(tmp_path, storage="shared") as stack, ClientSession() as http:
        served = []
        for _ in range(6):
            async with http.get(f"{stack.url}/healthz") as r:
                served.append(r.headers["X-Replica"])
        connector = http.connector
        assert connector is not None
        recorded = json.loads((stack.config.run_dir / "stack.json").read_text())
    assert served == ["lbdemo-r1", "lbdemo-r2", "lbdemo-r3"] * 2, "X-Replica is the container name"
    assert problems(recorded) == [], "stack.json validates against docs/schemas/lbdemo-stack-1"
    assert recorded["config"]["replicas"] == 3, "numbers as numbers"


async def test_shared_write_through_the_balancer_is_read_back_by_every_replica(
    tmp_path: Path,
) -> None:
    write_id = unique("w")
    async with running_stack(tmp_path, storage="shared") as stack, ClientSession() as http:
        async with http.put(
            f"{stack.url}/products/apple", json={"price": 700, "write_id": write_id}
        ) as r:
            assert r.status == 200
        for replica in stack.replicas:
            async with http.get(f"{replica.url}/products/apple") as r:
                body = await r.json()
            assert (r.status, body["write_id"], body["replica"]) == (200, write_id, replica.name)
        data_dir = stack.config.volume_data_dir()
    assert (data_dir / "PG_VERSION").exists(), "the shared cluster lives on the named volume"


async def test_private_write_is_found_on_exactly_one_replica(tmp_path: Path) -> None:
    write_id = unique("w")
    async with running_stack(tmp_path, storage="private") as stack, ClientSession() as http:
        async with http.put(
            f"{stack.url}/products/apple", json={"price": 700, "write_id": write_id}
        ) as r:
            assert r.status == 200
            writer = r.headers["X-Replica"]
        found = []
        for replica in stack.replicas:
            async with http.get(f"{replica.url}/products/apple") as r:
                if r.status == 200:
                    found.append(replica.name)
                else:
                    assert r.status == 404
        layers = [r.container.layer for r in stack.replicas]
        assert all((layer / "var/lib/postgresql/data/PG_VERSION").exists() for layer in layers), (
            "each replica container's PostgreSQL data lives in its own layer"
        )
    assert found == [writer]
    assert not any(layer.exists() for layer in layers), "stopping removes the container layers"


async def test_a_killed_replica_gives_502_or_is_routed_around_and_never_crashes_the_balancer(
    tmp_path: Path,
) -> None:
    # Every turn of a dead replica is a 502 when nothing routes around it: pinned by
    # tests/balancer/test_balancer_proxy.py. Here the whole stack: writes are never replayed,
    # so a write whose turn meets the dead replica is a 502 JSON; the supervisor and the
    # balancer's passive ejection take it out of the rotation, and the survivors carry on.
    async with running_stack(tmp_path, storage="shared") as stack, ClientSession() as http:
        victim = stack.replicas[1]
        assert victim.child is not None
        os.kill(victim.child.pid, signal.SIGKILL)
        await victim.child.process.wait()
        answers: list[tuple[int, str]] = []
        for n in range(12):
            async with http.put(
                f"{stack.url}/products/k{n}", json={"price": n, "write_id": unique("w")}
            ) as r:
                body = await r.json()
                answers.append((r.status, r.headers.get("X-Replica", "balancer")))
                if r.status == 502:
                    assert body["error"] and "X-Replica" not in r.headers
                    assert body["replica"] == victim.name
        assert stack.balancer is not None and stack.balancer.running
        await asyncio.sleep(0.5)
        async with http.get(f"{stack.url}/products/k0") as r:
            assert r.status in (200, 404)
    served = {name for status, name in answers if status == 200}
    assert {status for status, _ in answers} <= {200, 502}
    # (a replacement container, same name, new id, may already have joined)
    assert served <= {"lbdemo-r1", "lbdemo-r2", "lbdemo-r3"}
    assert sum(status == 200 for status, _ in answers) >= 10


async def test_stop_leaves_no_process_behind(tmp_path: Path) -> None:
    async with running_stack(tmp_path, storage="private") as stack:
        pids = [r.child.pid for r in stack.replicas] + [s.pid for s in stack.servers if s.pid]
        assert stack.balancer is not None
        pids.append(stack.balancer.pid)
        assert all(pid_alive(p) for p in pids)
    assert not any(pid_alive(p) for p in pids)
    assert not list((tmp_path / "containers").glob("*/config.json")), "down removes containers"


async def test_the_admin_token_is_in_a_private_file_and_opens_the_admin_api(
    tmp_path: Path,
) -> None:
    async with (
        running_stack(tmp_path, storage="shared", replicas=2) as stack,
        ClientSession() as http,
    ):
        token_file = stack.admin_token_file
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        async with http.get(f"{stack.admin_url}/replicas") as r:
            assert r.status == 401
        async with http.get(
            f"{stack.admin_url}/replicas", headers={"Authorization": f"Bearer {token}"}
        ) as r:
            assert r.status == 200
            assert sorted(x["name"] for x in await r.json()) == ["lbdemo-r1", "lbdemo-r2"]
    assert not token_file.exists()


async def test_dsn_runs_the_replicas_on_an_existing_server(
    tmp_path: Path, pg_server: ServerInfo
) -> None:
    write_id = unique("w")
    stack_running = running_stack(tmp_path, storage="shared", replicas=2, dsn=pg_server.dsn)
    async with stack_running as stack, ClientSession() as http:
        assert stack.describe()["layout"]["name"] == "external"
        assert not (tmp_path / "volumes").exists() or not any((tmp_path / "volumes").iterdir())
        async with http.put(
            f"{stack.url}/products/dsn-key", json={"price": 9, "write_id": write_id}
        ) as r:
            assert r.status == 200
        for replica in stack.replicas:
            async with http.get(f"{replica.url}/products/dsn-key") as r:
                assert (await r.json())["write_id"] == write_id
    conn = await asyncpg.connect(pg_server.dsn)
    try:
        assert await conn.fetchval("SELECT write_id FROM products WHERE id = 'dsn-key'") == write_id
    finally:
        await conn.close()


async def test_a_second_stack_on_the_same_state_root_is_refused_and_the_first_keeps_serving(
    tmp_path: Path,
) -> None:
    async with (
        running_stack(tmp_path, storage="shared", replicas=1) as first,
        ClientSession() as http,
    ):
        with pytest.raises(StateError, match="already running"):
            async with running_stack(tmp_path, storage="private", replicas=1):
                pass
        async with http.get(f"{first.url}/healthz") as r:
            assert r.status == 200
        assert [r.name for r in first.replicas] == ["lbdemo-r1"]
    async with running_stack(tmp_path, storage="shared", replicas=1):
        pass  # once the first is down, the state root is free again
