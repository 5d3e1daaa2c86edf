"""The CLI's lifecycle verbs against a running daemon, and without one."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import ClientSession

from lbdemo.containers.containers import ContainerStore
from lbdemo.containers.volumes import VolumeStore
from lbdemo.process.pids import pid_alive
from tests.utils import Result, eventually, run_cli_async
from tests.utils import running_stack as daemon_stack

NO_DAEMON = "Cannot connect to the lbdemo daemon at {}. Is 'lbdemo up' running?\n"


async def lbdemo(root: Path, *argv: str) -> Result:
    """The CLI with this test's state root, as a user in another shell would run it."""
    return await run_cli_async(*argv, "--state", str(root))


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "-d", "lbdemo/catalog:1.1"],
        ["stop", "web"],
        ["start", "web"],
        ["kill", "web"],
        ["restart", "web"],
        ["upgrade", "--image", "lbdemo/catalog:1.1"],
    ],
)
def test_lifecycle_commands_without_a_daemon_print_dockers_one_line_and_exit_1(
    tmp_path: Path, argv: list[str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lbdemo", *argv, "--state", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == NO_DAEMON.format(tmp_path)


async def test_a_daemon_file_left_by_a_dead_daemon_counts_as_no_daemon(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "daemon.json").write_text(
        json.dumps({"url": "http://127.0.0.1:9", "token": "x", "pid": 1})
    )
    result = await lbdemo(tmp_path, "stop", "web")
    assert (result.status, result.err) == (1, NO_DAEMON.format(tmp_path))


@pytest.mark.slow
async def test_run_with_a_volume_and_a_bind_mount_joins_then_rm_f_takes_only_the_container(
    tmp_path: Path,
) -> None:
    root, host_dir = tmp_path / "state", tmp_path / "catalog-config"
    host_dir.mkdir()
    (host_dir / "catalog.conf").write_text("currency=KRW\n")
    async with daemon_stack(root) as stack, ClientSession() as http:
        daemon_file = root / "run" / "daemon.json"
        assert stat.S_IMODE(daemon_file.stat().st_mode) == 0o600, "the token is not for others"
        ran = await lbdemo(
            root,
            "run",
            "-d",
            "--name",
            "web",
            "-v",
            "webdata:/data",
            "-v",
            f"{host_dir}:/etc/catalog:ro",
            "lbdemo/catalog:1.1",
        )
        assert ran.status == 0, ran.err
        container_id = ran.out.strip()
        ps = await lbdemo(root, "ps")
        assert container_id[:12] in ps.out and " web\n" in ps.out + "\n"
        mounts = json.loads((await lbdemo(root, "inspect", "web")).out)[0]["Mounts"]
        assert {
            (m["Type"], m.get("Name"), m["Source"], m["Destination"], m["RW"]) for m in mounts
        } == {
            ("volume", "webdata", str(root / "volumes/webdata/_data"), "/data", True),
            ("bind", None, str(host_dir), "/etc/catalog", False),
        }
        served = set()
        for _ in range(8):
            async with http.get(f"{stack.url}/healthz") as r:
                assert r.status == 200
                served.add(r.headers["X-Replica"])
        assert "web" in served, "the new container serves traffic through the balancer"

        in_use = await lbdemo(root, "volume", "rm", "webdata")
        assert in_use.status == 1
        assert in_use.err == (
            f"Error response from daemon: remove webdata: volume is in use - [{container_id}]\n"
        )
        pid = stack.runtime.procs[container_id].pid
        layer = ContainerStore(root).get("web").layer
        assert layer.is_dir()
        removed = await lbdemo(root, "rm", "-f", "web")
        assert (removed.status, removed.out) == (0, "web\n")
        assert not pid_alive(pid) and not layer.exists()
        assert "web" not in {r.name for r in stack.replicas}
        async with http.get(
            f"{stack.admin_url}/replicas",
            headers={"Authorization": f"Bearer {stack.config.admin_token}"},
        ) as r:
            assert "web" not in {r["name"] for r in await r.json()}
        assert VolumeStore(root).exists("webdata"), "rm never removes a named volume"
        assert (host_dir / "catalog.conf").read_text() == "currency=KRW\n", "nor a bind source"
        assert (await lbdemo(root, "volume", "rm", "webdata")).status == 0, "now it is unused"


@pytest.mark.slow
async def test_stop_leaves_the_rotation_and_keeps_the_layer_start_brings_its_data_back(
    tmp_path: Path,
) -> None:
    async with (
        daemon_stack(tmp_path, storage="private", replicas=2) as stack,
        ClientSession() as http,
    ):
        r1 = stack.replicas[0]
        async with http.put(f"{r1.url}/products/kept", json={"price": 1, "write_id": "k1"}) as r:
            assert r.status == 200
        stopped = await lbdemo(tmp_path, "stop", r1.name)
        assert (stopped.status, stopped.out) == (0, f"{r1.name}\n")
        record = ContainerStore(tmp_path).get(r1.name)
        assert record.status == "exited" and (record.layer / "var/lib/postgresql/data").is_dir()
        assert [r.name for r in stack.replicas] == [stack.replicas[0].name] != [r1.name]
        for _ in range(4):
            async with http.get(f"{stack.url}/healthz") as r:
                assert (r.status, r.headers["X-Replica"]) == (200, stack.replicas[0].name)
        assert (await lbdemo(tmp_path, "start", r1.name)).status == 0
        again = next(r for r in stack.replicas if r.name == r1.name)
        assert again.id == r1.id, "start runs the same container, on the same layer"
        async with http.get(f"{again.url}/products/kept") as r:
            assert (r.status, (await r.json())["write_id"]) == (200, "k1")
        seen = set()
        for _ in range(4):
            async with http.get(f"{stack.url}/healthz") as r:
                seen.add(r.headers["X-Replica"])
        assert r1.name in seen, "it rejoined the rotation"
        missing = await lbdemo(tmp_path, "stop", "nope")
        assert (missing.status, missing.err) == (
            1,
            "Error response from daemon: No such container: nope\n",
        )


@pytest.mark.slow
async def test_a_new_store_container_on_the_same_volume_finds_every_write(tmp_path: Path) -> None:
    async with daemon_stack(tmp_path, replicas=2) as stack, ClientSession() as http:
        for i in range(5):
            async with http.put(
                f"{stack.url}/products/k{i}", json={"price": i, "write_id": f"w{i}"}
            ) as r:
                assert r.status == 200
        old = ContainerStore(tmp_path).get("lbdemo-db")
        old_pid = stack.runtime.stores[0].pid
        assert (await lbdemo(tmp_path, "rm", "-f", "lbdemo-db")).status == 0
        assert not pid_alive(old_pid)
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
        assert ran.out.strip() != old.id
        restarted = await lbdemo(tmp_path, "restart", "lbdemo-db")
        assert restarted.status == 0, restarted.err
        found: dict[str, str] = {}

        async def read_all() -> None:
            for i in range(5):
                async with http.get(f"{stack.url}/products/k{i}") as r:
                    if r.status == 200:  # a replica's pool may need a moment to reconnect
                        found[f"k{i}"] = (await r.json())["write_id"]

        for _ in range(40):
            await read_all()
            if len(found) == 5:
                break
        assert found == {f"k{i}": f"w{i}" for i in range(5)}
        assert os.path.exists(stack.config.volume_data_dir() / "PG_VERSION")


@pytest.mark.slow
async def test_a_killed_replica_leaves_the_rotation_and_is_replaced_unless_restart_no(
    tmp_path: Path,
) -> None:
    async with daemon_stack(tmp_path) as stack, ClientSession() as http:
        victim = stack.replicas[1]
        statuses: list[tuple[bool, int]] = []  # (sent after the death was noticed, status)
        noticed = False

        async def load() -> None:
            for _ in range(300):
                after = noticed
                async with http.get(f"{stack.url}/healthz") as r:
                    statuses.append((after, r.status))
                await asyncio.sleep(0.005)

        task = asyncio.create_task(load())
        await asyncio.sleep(0.2)
        killed = await lbdemo(tmp_path, "kill", victim.name)
        assert (killed.status, killed.out) == (0, f"{victim.name}\n")

        def left() -> bool:
            return any(
                e["event"] == "leave" and e["name"] == victim.name for e in stack.runtime.events
            )

        await eventually(left)
        noticed = True
        await eventually(
            lambda: any(r.name == victim.name and r.id != victim.id for r in stack.replicas)
        )
        await task
        fresh = next(r for r in stack.replicas if r.name == victim.name)
        assert fresh.image == victim.image and not victim.container.layer.exists()
        assert [s for after, s in statuses if after and s != 200] == []
        # GETs are retried on another replica when the connect fails: even the kill is clean
        assert [s for _, s in statuses if s != 200] == []

        ran = await lbdemo(
            tmp_path, "run", "-d", "--restart", "no", "--name", "pet", "lbdemo/catalog:1.0"
        )
        assert ran.status == 0, ran.err
        assert (await lbdemo(tmp_path, "kill", "-s", "KILL", "pet")).status == 0
        store = ContainerStore(tmp_path)
        # 137 = 128 + SIGKILL, recorded by the supervisor that reaped it
        await eventually(lambda: store.get("pet").exit_code == 137)
        assert store.get("pet").status == "exited" and store.get("pet").id == ran.out.strip()
        await asyncio.sleep(0.3)
        assert "pet" not in {r.name for r in stack.replicas}
