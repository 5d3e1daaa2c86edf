"""Volumes behave as Docker documents: names, in-use refusal, prune, filters, inspect fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lbdemo.containers.containers import ContainerStore
from lbdemo.containers.errors import InvalidNameError, NoSuchVolumeError, VolumeInUseError
from lbdemo.containers.mounts import parse_volume_spec
from lbdemo.containers.volumes import ANONYMOUS_LABEL, VolumeStore
from tests.utils import run_cli as lbdemo

IMAGE = "lbdemo/catalog:1.1"


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_inspect_has_exactly_dockers_fields(tmp_path: Path) -> None:
    volume = VolumeStore(tmp_path).create("myvolume", labels={}, options={})
    data = volume.inspect()
    assert list(data) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["CreatedAt"])
    assert data["Driver"] == "local"
    assert data["Labels"] == {} and data["Options"] == {}
    assert data["Mountpoint"] == str(tmp_path / "volumes" / "myvolume" / "_data")
    assert Path(data["Mountpoint"]).is_dir()
    assert (data["Name"], data["Scope"]) == ("myvolume", "local")


def test_creating_an_existing_name_is_a_no_op_that_returns_it(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path)
    first = store.create("shared", labels={"v": "1"})
    (first.mountpoint / "keep.txt").write_text("kept")
    again = store.create("shared", labels={"v": "2"})
    assert again == first
    assert (again.mountpoint / "keep.txt").read_text() == "kept"


def test_no_name_makes_an_anonymous_volume_with_a_64_hex_name(tmp_path: Path) -> None:
    volume = VolumeStore(tmp_path).create()
    assert re.fullmatch(r"[0-9a-f]{64}", volume.name)
    assert volume.anonymous and volume.labels == {ANONYMOUS_LABEL: ""}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a", "create a: volume name is too short, names should be at least two alphanumeric"),
        ("..", 'create ..: ".." includes invalid characters for a local volume name'),
        ("../x", 'create ../x: "../x" includes invalid characters'),
        ("a/b", '"a/b" includes invalid characters'),
        ("/abs", '"/abs" includes invalid characters'),
        ("_x", '"_x" includes invalid characters'),
        ("a b", '"a b" includes invalid characters'),
        ("nul\0x", r'"nul\x00x" includes invalid characters'),
        ("x" * 300, "volume name is too long"),
    ],
)
def test_invalid_names_are_refused_with_dockers_text_and_nothing_is_written(
    tmp_path: Path, name: str, message: str
) -> None:
    with pytest.raises(InvalidNameError) as info:
        VolumeStore(tmp_path / "state").create(name)
    assert message in str(info.value)
    assert not (tmp_path / "state" / "volumes").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"] or not any(tmp_path.iterdir())


def test_invalid_characters_message_is_dockers_whole_sentence(tmp_path: Path) -> None:
    with pytest.raises(InvalidNameError) as info:
        VolumeStore(tmp_path).create("x!")
    assert str(info.value) == (
        'create x!: "x!" includes invalid characters for a local volume name, only '
        '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
        "use absolute path"
    )


@pytest.mark.parametrize("name", ["..", "../victim", "a/../../victim", "/etc", "x\0y", "."])
def test_lookups_and_removals_of_hostile_names_touch_nothing_outside(
    tmp_path: Path, name: str
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "file").write_text("precious")
    store = VolumeStore(tmp_path / "state")
    with pytest.raises(NoSuchVolumeError):
        store.get(name)
    with pytest.raises(NoSuchVolumeError):
        store.remove(name)
    store.remove(name, force=True)
    assert (victim / "file").read_text() == "precious"


def test_volume_in_use_by_a_stopped_container_cannot_be_removed_even_with_force(
    tmp_path: Path,
) -> None:
    containers = ContainerStore(tmp_path)
    c = containers.create(IMAGE, name="db", mounts=[parse_volume_spec("pgdata:/data")])
    containers.set_state("db", "running", pid=1)
    containers.set_state("db", "exited", exit_code=0)
    for force in (False, True):
        with pytest.raises(VolumeInUseError) as info:
            containers.volumes.remove("pgdata", force=force)
        assert str(info.value) == f"remove pgdata: volume is in use - [{c.id}]"
    assert containers.volumes.exists("pgdata")


def test_volume_in_use_lists_every_container_that_mounts_it(tmp_path: Path) -> None:
    containers = ContainerStore(tmp_path)
    a = containers.create(IMAGE, mounts=[parse_volume_spec("shared:/data")])
    b = containers.create(IMAGE, mounts=[parse_volume_spec("shared:/data:ro")])
    with pytest.raises(VolumeInUseError) as info:
        containers.volumes.remove("shared")
    assert sorted(info.value.container_ids) == sorted([a.id, b.id])


def test_removing_an_unused_volume_deletes_its_data(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path)
    volume = store.create("old")
    (volume.mountpoint / "f").write_text("x")
    store.remove("old")
    assert not (tmp_path / "volumes" / "old").exists()
    with pytest.raises(NoSuchVolumeError, match="get old: no such volume"):
        store.remove("old")


def _prune_fixture(tmp_path: Path) -> tuple[ContainerStore, str, str]:
    containers = ContainerStore(tmp_path)
    named_unused = containers.volumes.create("unused", labels={"keep": "no"})
    (named_unused.mountpoint / "blob").write_bytes(b"x" * 1500)
    anon_unused = containers.volumes.create()
    (anon_unused.mountpoint / "blob").write_bytes(b"y" * 36)
    containers.create(IMAGE, mounts=[parse_volume_spec("used:/a"), parse_volume_spec("/anon")])
    return containers, named_unused.name, anon_unused.name


def test_prune_removes_only_unused_anonymous_volumes_by_default(tmp_path: Path) -> None:
    containers, _named, anon = _prune_fixture(tmp_path)
    before = {v.name for v in containers.volumes.all()}
    result = containers.volumes.prune()
    assert result.deleted == [anon]
    assert result.reclaimed_bytes == 36
    assert {v.name for v in containers.volumes.all()} == before - {anon}


def test_prune_all_removes_unused_named_volumes_but_never_used_ones(tmp_path: Path) -> None:
    containers, named, anon = _prune_fixture(tmp_path)
    result = containers.volumes.prune(all=True)
    assert sorted(result.deleted) == sorted([named, anon])
    assert result.reclaimed_bytes == 1536
    remaining = containers.volumes.all()
    assert "used" in {v.name for v in remaining}
    assert len(remaining) == 2  # "used" and the container's anonymous volume


def test_prune_label_filters_select_and_exclude(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path)
    store.create("blue", labels={"colour": "blue"})
    store.create("red", labels={"colour": "red"})
    store.create("plain", labels={})
    assert store.prune(all=True, filters=["label=colour=red"]).deleted == ["red"]
    assert store.prune(all=True, filters=["label!=colour"]).deleted == ["plain"]
    assert [v.name for v in store.all()] == ["blue"]


def test_ls_filters_dangling_label_and_name(tmp_path: Path) -> None:
    containers = ContainerStore(tmp_path)
    containers.volumes.create("free", labels={"tier": "db", "env": "dev"})
    containers.volumes.create("other", labels={"tier": "web"})
    containers.create(IMAGE, mounts=[parse_volume_spec("busy:/x")])

    def names(*filters: str) -> list[str]:
        return [v.name for v in containers.volumes.list(list(filters))]

    assert names("dangling=true") == ["free", "other"]
    assert names("dangling=false") == ["busy"]
    assert names("label=tier") == ["free", "other"]
    assert names("label=tier=db") == ["free"]
    assert names("label=tier", "label=env=dev") == ["free"]
    assert names("name=th") == ["other"]
    assert names("driver=local") == ["busy", "free", "other"]


def test_cli_create_ls_inspect_rm_round_trip(tmp_path: Path) -> None:
    state = str(tmp_path)
    assert lbdemo("volume", "create", "--label", "a=1", "data", "--state", state).out == "data\n"
    ls = lbdemo("volume", "ls", "--state", state)
    assert ls.out == "DRIVER    VOLUME NAME\nlocal     data\n"
    assert lbdemo("volume", "ls", "-q", "--state", state).out == "data\n"
    row = json.loads(lbdemo("volume", "ls", "--format", "json", "--state", state).out)
    assert (row["Name"], row["Driver"], row["Labels"]) == ("data", "local", "a=1")
    inspected = json.loads(lbdemo("volume", "inspect", "data", "--state", state).out)
    assert inspected[0]["Labels"] == {"a": "1"}
    rm = lbdemo("volume", "rm", "data", "--state", state)
    assert (rm.status, rm.out) == (0, "data\n")
    assert lbdemo("volume", "ls", "-q", "--state", state).out == ""


def test_cli_inspect_prints_found_volumes_and_fails_for_missing_ones(tmp_path: Path) -> None:
    lbdemo("volume", "create", "here", "--state", str(tmp_path))
    result = lbdemo("volume", "inspect", "here", "gone", "--state", str(tmp_path))
    assert result.status == 1
    assert [v["Name"] for v in json.loads(result.out)] == ["here"]
    assert result.err == "Error: No such volume: gone\n"


def test_cli_errors_are_dockers_lines_and_exit_1(tmp_path: Path) -> None:
    state = str(tmp_path)
    bad = lbdemo("volume", "create", "a", "--state", state)
    assert bad.status == 1
    assert bad.err == (
        "Error response from daemon: create a: volume name is too short, names should be at "
        "least two alphanumeric characters\n"
    )
    missing = lbdemo("volume", "rm", "nope", "--state", state)
    assert (missing.status, missing.err) == (
        1,
        "Error response from daemon: get nope: no such volume\n",
    )
    assert lbdemo("volume", "rm", "-f", "nope", "--state", state).status == 0
    driver = lbdemo("volume", "create", "--driver", "nfs", "v1", "--state", state)
    assert driver.status == 1 and 'plugin "nfs" not found' in driver.err


def test_cli_rm_in_use_names_the_container_and_keeps_the_volume(tmp_path: Path) -> None:
    state = str(tmp_path)
    created = lbdemo("create", "-v", "pgdata:/data", "lbdemo/catalog:1.0", "--state", state)
    container_id = created.out.strip()
    result = lbdemo("volume", "rm", "pgdata", "--state", state)
    assert result.status == 1
    assert result.err == (
        f"Error response from daemon: remove pgdata: volume is in use - [{container_id}]\n"
    )
    assert lbdemo("volume", "ls", "-q", "--state", state).out == "pgdata\n"


def test_cli_prune_asks_first_and_no_answer_means_no(tmp_path: Path) -> None:
    state = str(tmp_path)
    VolumeStore(tmp_path).create()
    declined = lbdemo("volume", "prune", "--state", state, stdin="")
    assert declined.out.startswith(
        "WARNING! This will remove anonymous local volumes not used by at least one container.\n"
        "Are you sure you want to continue? [y/N] "
    )
    assert declined.out.endswith("Total reclaimed space: 0B\n")
    assert len(VolumeStore(tmp_path).all()) == 1
    all_prompt = lbdemo("volume", "prune", "-a", "--state", state, stdin="n\n")
    assert "WARNING! This will remove all local volumes not used" in all_prompt.out
    assert len(VolumeStore(tmp_path).all()) == 1


def test_cli_prune_prints_deleted_names_and_reclaimed_space(tmp_path: Path) -> None:
    volume = VolumeStore(tmp_path).create()
    (volume.mountpoint / "f").write_bytes(b"z" * 36)
    result = lbdemo("volume", "prune", "--state", str(tmp_path), stdin="y\n")
    assert result.status == 0
    assert result.out.endswith(f"Deleted Volumes:\n{volume.name}\n\nTotal reclaimed space: 36B\n")
    forced = lbdemo("volume", "prune", "-f", "--state", str(tmp_path))
    assert forced.out == "Total reclaimed space: 0B\n"


def test_cli_filter_errors(tmp_path: Path) -> None:
    unknown = lbdemo("volume", "ls", "--filter", "colour=red", "--state", str(tmp_path))
    assert (unknown.status, unknown.err) == (
        1,
        "Error response from daemon: invalid filter 'colour'\n",
    )
    malformed = lbdemo("volume", "ls", "--filter", "colour", "--state", str(tmp_path))
    assert malformed.status == 2 and "expected name=value" in malformed.err


def test_read_only_commands_write_nothing_to_a_missing_state_root(tmp_path: Path) -> None:
    state = tmp_path / "absent"
    assert lbdemo("volume", "ls", "--state", str(state)).status == 0
    assert lbdemo("volume", "inspect", "x", "--state", str(state)).status == 1
    assert lbdemo("ps", "-a", "--state", str(state)).status == 0
    assert not state.exists()
