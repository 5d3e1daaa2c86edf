"""``lbdemo ps | inspect | rm | images | create`` print what Docker prints, errors included."""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

from lbdemo.containers.containers import ContainerStore, parse_time
from lbdemo.containers.display import human_duration, human_size, status_text, table
from lbdemo.containers.images import BUILTIN_IMAGES, find_image
from tests.utils import run_cli as lbdemo


def test_create_prints_the_full_id_and_records_state_created(tmp_path: Path) -> None:
    result = lbdemo("create", "--name", "web", "lbdemo/catalog:1.0", "--state", str(tmp_path))
    assert result.status == 0
    assert re.fullmatch(r"[0-9a-f]{64}\n", result.out)
    assert ContainerStore(tmp_path).get("web").status == "created"


def test_create_errors_exit_125_like_docker_create(tmp_path: Path) -> None:
    state = str(tmp_path)
    lbdemo("create", "--name", "web", "lbdemo/catalog:1.0", "--state", state)
    conflict = lbdemo("create", "--name", "web", "lbdemo/catalog:1.0", "--state", state)
    assert conflict.status == 125
    assert conflict.err.startswith(
        'Error response from daemon: Conflict. The container name "/web"'
    )
    missing = lbdemo("create", "lbdemo/catalog:9.9", "--state", state)
    assert missing.status == 125
    assert missing.err.startswith("Unable to find image 'lbdemo/catalog:9.9' locally")
    windows = lbdemo("create", "-v", "C:/data:/x", "lbdemo/catalog", "--state", state)
    assert windows.status == 125 and "Windows path" in windows.err
    for result in (conflict, missing, windows):
        assert result.err.count("\n") == 1
    assert len(ContainerStore(tmp_path).list(all=True)) == 1


def test_create_with_bad_mount_flag_is_a_usage_error(tmp_path: Path) -> None:
    result = lbdemo("create", "--mount", "src=x", "lbdemo/catalog", "--state", str(tmp_path))
    assert result.status == 2
    assert result.err == (
        'lbdemo: error: invalid argument "src=x" for "--mount" flag: target is required\n'
    )
    assert not (tmp_path / "containers").exists()


def test_ps_shows_dockers_columns_and_all_shows_created_ones(tmp_path: Path) -> None:
    state = str(tmp_path)
    created = lbdemo("create", "--name", "web", "lbdemo/catalog:1.0", "--state", state)
    assert lbdemo("ps", "--state", state).out == (
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
    )
    lines = lbdemo("ps", "-a", "--state", state).out.splitlines()
    assert lines[0].split() == [
        "CONTAINER",
        "ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ]
    assert lines[1].startswith(created.out[:12] + '   lbdemo/catalog:1.0   "lbdemo replica"')
    assert lines[1].endswith("Created             web")
    assert lbdemo("ps", "-aq", "--state", state).out == created.out[:12] + "\n"


def test_ps_status_words_follow_docker(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    store.create("lbdemo/catalog:1.0", name="svc")
    running = store.set_state("svc", "running", pid=os.getpid())
    started = parse_time(running.started_at)
    assert started is not None
    assert status_text(running, started + timedelta(minutes=3)) == "Up 3 minutes"
    exited = store.set_state("svc", "exited", exit_code=0)
    finished = parse_time(exited.finished_at)
    assert finished is not None
    later = finished + timedelta(minutes=2, seconds=5)
    assert status_text(exited, later) == "Exited (0) 2 minutes ago"


def test_human_words_match_go_units() -> None:
    assert [human_duration(s) for s in (0.5, 1, 59, 60, 150, 3600, 7200, 3 * 86400)] == [
        "Less than a second",
        "1 second",
        "59 seconds",
        "About a minute",
        "2 minutes",
        "About an hour",
        "2 hours",
        "3 days",
    ]
    assert [human_size(n) for n in (0, 36, 1500, 113_800_000)] == ["0B", "36B", "1.5kB", "113.8MB"]


def test_table_pads_like_dockers_tabwriter() -> None:
    assert table(["DRIVER", "VOLUME NAME"], [["local", "data"]]) == (
        "DRIVER    VOLUME NAME\nlocal     data"
    )


def test_inspect_prints_a_json_array_of_containers_and_fails_for_unknown(tmp_path: Path) -> None:
    state = str(tmp_path)
    lbdemo("create", "--name", "web", "-v", "data:/data", "lbdemo/catalog:1.1", "--state", state)
    result = lbdemo("inspect", "web", "nothing", "--state", state)
    assert result.status == 1
    assert result.err == "Error: No such object: nothing\n"
    (data,) = json.loads(result.out)
    assert data["Name"] == "/web"
    assert data["Mounts"][0]["Name"] == "data" and data["Mounts"][0]["Type"] == "volume"


def test_inspect_also_finds_images_and_volumes(tmp_path: Path) -> None:
    state = str(tmp_path)
    lbdemo("volume", "create", "vol1", "--state", state)
    found = json.loads(lbdemo("inspect", "lbdemo/catalog:1.0", "vol1", "--state", state).out)
    assert found[0]["Id"] == find_image("lbdemo/catalog:1.0").id
    assert found[1]["Name"] == "vol1" and found[1]["Driver"] == "local"


def test_rm_echoes_names_and_reports_missing_ones(tmp_path: Path) -> None:
    state = str(tmp_path)
    lbdemo("create", "--name", "web", "lbdemo/catalog:1.0", "--state", state)
    result = lbdemo("rm", "web", "ghost", "--state", state)
    assert (result.status, result.out) == (1, "web\n")
    assert result.err == "Error response from daemon: No such container: ghost\n"
    assert lbdemo("rm", "-f", "ghost", "--state", state).status == 0


def test_rm_refuses_a_running_container_and_rm_f_kills_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    state = str(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lbdemo("create", "--name", "live", "lbdemo/catalog:1.0", "--state", state)
        container = ContainerStore(tmp_path).set_state("live", "running", pid=proc.pid)
        refused = lbdemo("rm", "live", "--state", state)
        assert refused.status == 1
        assert refused.err == (
            f"Error response from daemon: You cannot remove a running container {container.id}. "
            "Stop the container before attempting removal or force remove\n"
        )
        forced = lbdemo("rm", "-f", "live", "--state", state)
        assert (forced.status, forced.out) == (0, "live\n")
        assert proc.wait(timeout=10) == -9
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_rm_v_removes_anonymous_volumes_and_keeps_the_named_one(tmp_path: Path) -> None:
    state = str(tmp_path)
    lbdemo(
        "create",
        "--name",
        "web",
        "-v",
        "named:/n",
        "-v",
        "/anon",
        "lbdemo/catalog",
        "--state",
        state,
    )
    assert len(lbdemo("volume", "ls", "-q", "--state", state).out.split()) == 2
    assert lbdemo("rm", "-v", "web", "--state", state).status == 0
    assert lbdemo("volume", "ls", "-q", "--state", state).out == "named\n"


def test_images_lists_every_tag_with_its_id(tmp_path: Path) -> None:
    result = lbdemo("images", "--state", str(tmp_path))
    lines = result.out.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    rows = {tuple(line.split()[:3]) for line in lines[1:]}
    v11, v10 = find_image("lbdemo/catalog:1.1"), find_image("lbdemo/catalog:1.0")
    pg = find_image("lbdemo/postgres:18")
    assert rows == {
        ("lbdemo/catalog", "1.1", v11.short_id),
        ("lbdemo/catalog", "latest", v11.short_id),
        ("lbdemo/catalog", "1.0", v10.short_id),
        ("lbdemo/postgres", "18", pg.short_id),
        ("lbdemo/postgres", "latest", pg.short_id),
    }
    assert lbdemo("images", "-q", "--state", str(tmp_path)).out.split() == [
        v11.short_id,
        v10.short_id,
        pg.short_id,
    ]


def test_image_ids_are_sha256_of_the_manifest_and_versions_differ_visibly() -> None:
    v10, v11 = find_image("lbdemo/catalog:1.0"), find_image("lbdemo/catalog:1.1")
    assert v10.id != v11.id and all(re.fullmatch(r"sha256:[0-9a-f]{64}", i.id) for i in (v10, v11))
    assert (v10.env["CATALOG_VERSION"], v11.env["CATALOG_VERSION"]) == ("1.0", "1.1")
    assert find_image("lbdemo/catalog") is find_image("lbdemo/catalog:latest") is v11
    assert find_image(v10.id) is v10 and find_image(v10.short_id) is v10
    assert len(BUILTIN_IMAGES) == 3


def test_the_real_cli_discovers_the_commands_and_prints_one_line_errors(tmp_path: Path) -> None:
    import subprocess
    import sys

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lbdemo", *argv, "--state", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert run("volume", "create", "data").stdout == "data\n"
    bad = run("volume", "create", "a")
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error response from daemon: create a: volume name is too short")
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert run("ps", "-a").stdout.startswith("CONTAINER ID   IMAGE")
