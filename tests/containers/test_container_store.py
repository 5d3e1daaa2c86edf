"""Container records: created, looked up, state-tracked and removed the way Docker does it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lbdemo.containers.containers import LOST_EXIT_CODE, ContainerStore
from lbdemo.containers.errors import (
    ContainerRunningError,
    InvalidNameError,
    NameConflictError,
    NoSuchContainerError,
    NoSuchImageError,
)
from lbdemo.containers.fs import ContainerFS
from lbdemo.containers.mounts import parse_mount_spec, parse_volume_spec
from lbdemo.errors import UsageError
from lbdemo.process.pids import pid_alive

IMAGE = "lbdemo/catalog:1.0"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A real process to stand in for a replica; always ended by its pid."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_create_records_a_container_with_a_layer_and_dockers_shapes(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    c = store.create(IMAGE, name="web", labels={"role": "replica"}, env={"PORT": "8081"})
    assert re.fullmatch(r"[0-9a-f]{64}", c.id)
    assert (tmp_path / "containers" / c.id / "config.json").is_file()
    assert c.layer == tmp_path / "containers" / c.id / "layer" and c.layer.is_dir()
    data = store.inspect("web")
    assert data["Id"] == c.id and data["Name"] == "/web"
    assert data["State"]["Status"] == "created" and data["State"]["Running"] is False
    assert data["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
    assert data["Image"].startswith("sha256:")
    assert data["Config"]["Image"] == IMAGE
    assert "CATALOG_VERSION=1.0" in data["Config"]["Env"] and "PORT=8081" in data["Config"]["Env"]
    assert data["Config"]["Labels"]["role"] == "replica"
    assert data["GraphDriver"]["Data"]["UpperDir"] == str(c.layer)
    assert data["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}


def test_a_container_without_a_name_gets_dockers_adjective_surname(tmp_path: Path) -> None:
    c = ContainerStore(tmp_path).create(IMAGE)
    assert re.fullmatch(r"[a-z]+_[a-z]+", c.name)


def test_name_conflict_uses_dockers_text_and_creates_nothing(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    first = store.create(IMAGE, name="web")
    with pytest.raises(NameConflictError) as info:
        store.create(IMAGE, name="/web", mounts=[parse_volume_spec("newvol:/d")])
    assert str(info.value) == (
        f'Conflict. The container name "/web" is already in use by container "{first.id}". '
        "You have to remove (or rename) that container to be able to reuse that name."
    )
    assert [c.id for c in store.list(all=True)] == [first.id]
    assert not store.volumes.exists("newvol")


@pytest.mark.parametrize("name", ["../etc", "a/b", "x", "", "with space", "nul\0"])
def test_invalid_container_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidNameError, match="Invalid container name"):
        ContainerStore(tmp_path).create(IMAGE, name=name)
    assert not (tmp_path / "containers").exists()


def test_unknown_image_is_refused_like_docker_and_latest_means_1_1(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    with pytest.raises(
        NoSuchImageError, match=r"Unable to find image 'lbdemo/catalog:2\.0' locally"
    ):
        store.create("lbdemo/catalog:2.0")
    latest = store.create("lbdemo/catalog")
    assert latest.env["CATALOG_VERSION"] == "1.1"
    with pytest.raises(UsageError, match="invalid reference format"):
        store.create("Lbdemo/Catalog")


def test_lookup_by_id_name_slash_name_and_unique_prefix(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    c = store.create(IMAGE, name="api")
    for ref in (c.id, "api", "/api", c.id[:12], c.id[:3]):
        assert store.get(ref).id == c.id
    with pytest.raises(NoSuchContainerError, match="No such container: nope"):
        store.get("nope")


def test_volumes_the_mounts_need_are_created_and_shared(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    a = store.create(IMAGE, mounts=[parse_volume_spec("shared:/data"), parse_volume_spec("/anon")])
    b = store.create(IMAGE, mounts=[parse_volume_spec("shared:/data")])
    ContainerFS(a).write_text("/data/price.txt", "42")
    assert ContainerFS(b).read_text("/data/price.txt") == "42"
    anon = next(m for m in a.mounts if m.destination == "/anon")
    assert re.fullmatch(r"[0-9a-f]{64}", anon.name) and store.volumes.get(anon.name).anonymous
    assert a.inspect()["Config"]["Volumes"] == {"/anon": {}}
    assert a.inspect()["HostConfig"]["Binds"] == ["shared:/data"]


def test_one_container_can_mount_several_volumes(tmp_path: Path) -> None:
    c = ContainerStore(tmp_path).create(
        IMAGE, mounts=[parse_volume_spec("config:/etc/catalog"), parse_volume_spec("data:/data")]
    )
    assert [m["Name"] for m in c.inspect()["Mounts"]] == ["config", "data"]


def test_duplicate_mount_points_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidNameError, match="Duplicate mount point: /data"):
        ContainerStore(tmp_path).create(
            IMAGE, mounts=[parse_volume_spec("a1:/data"), parse_volume_spec("b1:/data/")]
        )


def test_dash_v_creates_a_missing_bind_source_but_mount_flag_refuses(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path / "state")
    host = tmp_path / "host" / "logs"
    with pytest.raises(InvalidNameError, match="bind source path does not exist"):
        store.create(IMAGE, mounts=[parse_mount_spec(f"type=bind,src={host},dst=/logs")])
    assert not host.exists()
    c = store.create(IMAGE, mounts=[parse_volume_spec(f"{host}:/logs")])
    assert host.is_dir()
    assert c.inspect()["Mounts"] == [
        {
            "Type": "bind",
            "Source": str(host),
            "Destination": "/logs",
            "Mode": "",
            "RW": True,
            "Propagation": "rprivate",
        }
    ]


def test_removing_a_container_deletes_its_layer_and_everything_written_there(
    tmp_path: Path,
) -> None:
    store = ContainerStore(tmp_path)
    c = store.create(IMAGE, name="old", mounts=[parse_volume_spec("keep:/data")])
    fs = ContainerFS(c)
    fs.write_text("/var/lib/catalog/cache.json", "{}")
    fs.write_text("/data/durable.txt", "stays")
    store.remove("old")
    assert not (tmp_path / "containers" / c.id).exists()
    assert (store.volumes.get("keep").mountpoint / "durable.txt").read_text() == "stays"
    fresh = store.create(IMAGE, name="old", mounts=[parse_volume_spec("keep:/data")])
    assert not ContainerFS(fresh).exists("/var/lib/catalog/cache.json")
    assert ContainerFS(fresh).read_text("/data/durable.txt") == "stays"


def test_removing_a_container_with_a_bind_mount_leaves_the_host_directory_intact(
    tmp_path: Path,
) -> None:
    host = tmp_path / "host-config"
    (host / "nested").mkdir(parents=True)
    (host / "settings.json").write_text('{"debug": true}')
    (host / "nested" / "deep.txt").write_text("deep")
    store = ContainerStore(tmp_path / "state")
    c = store.create(IMAGE, mounts=[parse_volume_spec(f"{host}:/etc/catalog")])
    ContainerFS(c).write_text("/etc/catalog/written-by-container.txt", "hello")
    (c.layer / "link-to-host").symlink_to(host)
    store.remove(c.id, volumes=True)
    assert (host / "settings.json").read_text() == '{"debug": true}'
    assert (host / "nested" / "deep.txt").read_text() == "deep"
    assert (host / "written-by-container.txt").read_text() == "hello"


def test_rm_v_removes_anonymous_volumes_but_never_named_ones(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    c = store.create(IMAGE, mounts=[parse_volume_spec("named:/n"), parse_volume_spec("/anon")])
    anon = next(m.name for m in c.mounts if m.destination == "/anon")
    store.remove(c.id, volumes=True)
    assert store.volumes.exists("named")
    assert not store.volumes.exists(anon)


def test_rm_without_v_keeps_anonymous_volumes_for_prune(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    c = store.create(IMAGE, mounts=[parse_volume_spec("/anon")])
    store.remove(c.id)
    assert store.volumes.exists(c.mounts[0].name)
    assert store.volumes.prune().deleted == [c.mounts[0].name]


def test_a_running_container_is_not_removed_without_force(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    store = ContainerStore(tmp_path)
    c = store.create(IMAGE, name="live")
    store.set_state("live", "running", pid=sleeper.pid)
    with pytest.raises(ContainerRunningError) as info:
        store.remove("live")
    assert str(info.value) == (
        f"You cannot remove a running container {c.id}. Stop the container before attempting "
        "removal or force remove"
    )
    assert store.get("live").running


def test_force_remove_kills_the_live_process_through_the_hook(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    store = ContainerStore(tmp_path)
    store.create(IMAGE, name="live")
    store.set_state("live", "running", pid=sleeper.pid)
    killed: list[int] = []
    store.remove("live", force=True, kill=killed.append)
    assert killed == [sleeper.pid]
    with pytest.raises(NoSuchContainerError):
        store.get("live")


def test_force_remove_defaults_to_sigkill(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    store = ContainerStore(tmp_path)
    store.create(IMAGE, name="live")
    store.set_state("live", "running", pid=sleeper.pid)
    store.remove("live", force=True)
    assert sleeper.wait(timeout=10) == -9


def test_set_state_tracks_docker_state_fields(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    store = ContainerStore(tmp_path)
    store.create(IMAGE, name="svc")
    running = store.set_state("svc", "running", pid=sleeper.pid).inspect()["State"]
    assert (running["Status"], running["Running"], running["Pid"]) == ("running", True, sleeper.pid)
    assert running["StartedAt"] != "0001-01-01T00:00:00Z"
    exited = store.set_state("svc", "exited", exit_code=3).inspect()["State"]
    assert (exited["Status"], exited["Running"], exited["Pid"], exited["ExitCode"]) == (
        "exited",
        False,
        0,
        3,
    )
    with pytest.raises(UsageError):
        store.set_state("svc", "paused")
    with pytest.raises(UsageError):
        store.set_state("svc", "running")


def test_a_running_record_whose_process_died_reads_as_exited(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    store = ContainerStore(tmp_path)
    store.create(IMAGE, name="ghost")
    store.set_state("ghost", "running", pid=sleeper.pid)
    assert [c.name for c in store.list()] == ["ghost"]
    sleeper.kill()
    sleeper.wait(timeout=10)
    ghost = store.get("ghost")
    assert (ghost.status, ghost.exit_code, ghost.pid) == ("exited", LOST_EXIT_CODE, 0)
    assert store.list() == []
    record = json.loads((tmp_path / "containers" / ghost.id / "config.json").read_text())
    assert record["State"]["Status"] == "exited"


def test_pid_alive_rejects_zombies_and_reused_pids(sleeper: subprocess.Popen[bytes]) -> None:
    assert pid_alive(sleeper.pid)
    assert not pid_alive(sleeper.pid, start_ticks=1)  # a different process once had this pid
    sleeper.kill()
    deadline = time.monotonic() + 10
    while pid_alive(sleeper.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not pid_alive(sleeper.pid)  # a zombie until reaped, but not alive
    assert not pid_alive(0) and not pid_alive(-1)


def test_ps_lists_running_only_unless_all_newest_first(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    first = store.create(IMAGE, name="first")
    second = store.create(IMAGE, name="second")
    store.set_state("first", "running", pid=os.getpid())
    assert [c.id for c in store.list()] == [first.id]
    assert [c.id for c in store.list(all=True)] == [second.id, first.id]


_RACER = """
import sys
from pathlib import Path
from lbdemo.containers.containers import ContainerStore
from lbdemo.errors import LbdemoError
try:
    ContainerStore(Path(sys.argv[1])).create("lbdemo/catalog:1.0", name="only-one")
except LbdemoError as exc:
    print("lost:", exc)
else:
    print("won")
"""


def test_concurrent_creates_of_one_name_from_several_processes_give_one_container(
    tmp_path: Path,
) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        for _ in range(4)
    ]
    try:
        outputs = [p.communicate(timeout=60)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    assert sorted(o.split(":")[0].strip() for o in outputs) == ["lost", "lost", "lost", "won"]
    assert len(ContainerStore(tmp_path).list(all=True)) == 1


@pytest.mark.parametrize("ref", ["..", "../containers", "/../x", "a/b", "x\0", "." * 300])
def test_hostile_container_refs_find_nothing_and_remove_nothing(tmp_path: Path, ref: str) -> None:
    store = ContainerStore(tmp_path / "state")
    kept = store.create(IMAGE, name="kept")
    with pytest.raises(NoSuchContainerError):
        store.remove(ref)
    assert store.get("kept").id == kept.id and kept.layer.is_dir()


def test_labels_and_env_are_data_never_paths(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path / "state")
    hostile = {"../../escape": "/etc/passwd", "x\0y": "\0"}
    c = store.create(IMAGE, labels=hostile, env=hostile, mounts=[parse_volume_spec("v1:/v")])
    store.volumes.create("labelled", labels=hostile)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]
    assert store.get(c.id).labels["../../escape"] == "/etc/passwd"
    assert store.volumes.get("labelled").labels == hostile


def test_an_image_reference_with_a_trailing_newline_is_refused() -> None:
    from lbdemo.containers.images import parse_reference
    from lbdemo.errors import UsageError

    assert parse_reference("lbdemo/catalog:1.0") == ("lbdemo/catalog", "1.0")
    with pytest.raises(UsageError, match="invalid reference format"):
        parse_reference("lbdemo/catalog:1.0\n")
