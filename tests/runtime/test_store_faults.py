"""The hardening issue's store defects, each pinned: a dead store comes back, a replica whose
own store died is handled like a dead replica, a second database never splits the stack, a
second server on a data directory in use is refused with PostgreSQL's reason, and a stack never
touches another stack's containers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import ClientSession

from lbdemo.containers.containers import ContainerStore
from lbdemo.process.pids import pid_alive
from tests.utils import Result, eventually, run_cli_async, running_stack

pytestmark = pytest.mark.slow


async def lbdemo(root: Path, *argv: str) -> Result:
    return await run_cli_async(*argv, "--state", str(root))


async def put(http: ClientSession, url: str, key: str, write_id: str) -> int:
    async with http.put(f"{url}/products/{key}", json={"price": 1, "write_id": write_id}) as r:
        return r.status


async def get_status(http: ClientSession, url: str) -> int:
    try:
        async with http.get(url) as r:
            return r.status
    except OSError:
        return -1


async def test_a_killed_shared_store_is_restarted_as_the_same_container_on_its_volume(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path, replicas=2) as stack, ClientSession() as http:
        assert await put(http, stack.url, "kept", "w1") == 200
        store = stack.runtime.stack_store
        assert store is not None and store.server is not None
        old_pid, old_id = store.server.pid, store.id
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        # The killed postmaster's backends may still answer a pooled query for a moment: wait
        # for the supervisor's restart first, then for answers from the restarted server.
        await eventually(
            lambda: any(
                e["event"] == "restart" and e["name"] == "lbdemo-db" for e in stack.runtime.events
            ),
            30,
        )

        async def back() -> bool:
            return await get_status(http, f"{stack.url}/products/kept") == 200

        deadline = asyncio.get_running_loop().time() + 30
        while not await back():
            assert asyncio.get_running_loop().time() < deadline, "the store never came back"
            await asyncio.sleep(0.2)
        restarted = stack.runtime.stack_store
        assert restarted is not None and restarted.id == old_id, "same container, not a new one"
        assert restarted.pid != old_pid
        assert any(
            e["event"] == "restart" and e["name"] == "lbdemo-db" for e in stack.runtime.events
        )
        assert ContainerStore(tmp_path).get("lbdemo-db").status == "running"


async def test_a_replica_whose_private_store_died_is_replaced_like_a_dead_replica(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path, storage="private", replicas=2) as stack:
        victim = stack.replicas[0]
        assert victim.server is not None and victim.server.pid is not None
        os.kill(victim.server.pid, signal.SIGKILL)
        await eventually(
            lambda: any(r.name == victim.name and r.id != victim.id for r in stack.replicas), 30
        )
        assert not pid_alive(victim.child.pid if victim.child else 0)
        async with ClientSession() as http:
            statuses = [await get_status(http, f"{stack.url}/healthz") for _ in range(6)]
        assert statuses == [200] * 6


async def test_a_second_database_container_never_becomes_the_stacks_store(tmp_path: Path) -> None:
    async with running_stack(tmp_path, replicas=3) as stack, ClientSession() as http:
        assert await put(http, stack.url, "apple", "w1") == 200
        ran = await lbdemo(
            tmp_path,
            "run",
            "-d",
            "--name",
            "db2",
            "-v",
            "pg2:/var/lib/postgresql/data",
            "lbdemo/postgres:18",
        )
        assert ran.status == 0, ran.err
        victim = next(r for r in stack.replicas if r.name == "lbdemo-r2")
        assert (await lbdemo(tmp_path, "kill", victim.name)).status == 0
        await eventually(
            lambda: any(r.name == victim.name and r.id != victim.id for r in stack.replicas), 30
        )
        for replica in stack.replicas:
            status = await get_status(http, f"{replica.url}/products/apple")
            assert status == 200, f"{replica.name} reads another database"


async def test_a_second_server_on_the_stores_volume_is_refused_with_postgresqls_reason(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path, replicas=2) as stack, ClientSession() as http:
        store = stack.runtime.stack_store
        assert store is not None
        ran = await lbdemo(
            tmp_path,
            "run",
            "-d",
            "--name",
            "second",
            "-v",
            "lbdemo-pgdata:/var/lib/postgresql/data",
            "lbdemo/postgres:18",
        )
        assert ran.status != 0
        assert "postmaster.pid" in ran.err, "PostgreSQL's own reason is shown"
        assert "cannot share one data directory" in ran.err
        # Four short lines a projector's 80 columns show whole, not PostgreSQL's log in one,
        # naming the server that holds the directory by its pid.
        assert ran.err.count("\n") == 4 and max(map(len, ran.err.splitlines())) <= 80
        assert f"held by lbdemo-db's server (PID {store.pid})" in ran.err
        assert stack.runtime.stack_store is store and pid_alive(store.pid)
        assert await put(http, stack.url, "still", "w1") == 200


async def test_up_refuses_a_state_root_whose_stack_runs_and_touches_nothing(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path, replicas=2) as stack, ClientSession() as http:
        before = {c.id for c in ContainerStore(tmp_path).list(all=True)}
        pids = [r.pid for r in stack.replicas]
        refused = subprocess.run(
            [sys.executable, "-m", "lbdemo", "up", "-d", "--port", "0", "--state", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2, refused
        assert "already running" in refused.stderr and refused.stdout == ""
        assert {c.id for c in ContainerStore(tmp_path).list(all=True)} == before
        assert all(pid_alive(pid) for pid in pids)
        assert await put(http, stack.url, "ok", "w1") == 200


async def test_a_store_replaced_by_hand_does_not_block_the_next_up(tmp_path: Path) -> None:
    async with running_stack(tmp_path, replicas=1):
        assert (await lbdemo(tmp_path, "rm", "-f", "lbdemo-db")).status == 0
        ran = await lbdemo(
            tmp_path,
            "run",
            "-d",
            "--name",
            "lbdemo-db",
            "-v",
            "lbdemo-pgdata:/var/lib/postgresql/data",
            "lbdemo/postgres:18",
        )
        assert ran.status == 0, ran.err
    async with running_stack(tmp_path, replicas=1) as again, ClientSession() as http:
        assert await get_status(http, f"{again.url}/healthz") == 200
