"""A container path resolves through its longest mount, else into its layer, and never out."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from lbdemo.containers.containers import Container, ContainerStore
from lbdemo.containers.errors import PathEscapeError, ReadOnlyFileSystemError
from lbdemo.containers.fs import ContainerFS
from lbdemo.containers.mounts import parse_volume_spec
from lbdemo.errors import UsageError

IMAGE = "lbdemo/catalog:1.1"


@pytest.fixture
def host_config(tmp_path: Path) -> Path:
    host = tmp_path / "host-config"
    host.mkdir()
    (host / "settings.json").write_text('{"currency": "EUR"}')
    return host


@pytest.fixture
def container(tmp_path: Path, host_config: Path) -> Container:
    return ContainerStore(tmp_path / "state").create(
        IMAGE,
        mounts=[
            parse_volume_spec("pgdata:/var/lib/postgresql/data"),
            parse_volume_spec("nested:/var/lib/postgresql/data/archive"),
            parse_volume_spec(f"{host_config}:/etc/catalog:ro"),
        ],
    )


def test_paths_resolve_through_the_longest_matching_mount(
    container: Container, tmp_path: Path
) -> None:
    fs = ContainerFS(container)
    volumes = tmp_path / "state" / "volumes"
    assert fs.resolve("/var/lib/postgresql/data/PG_VERSION") == (
        volumes / "pgdata" / "_data" / "PG_VERSION"
    )
    assert fs.resolve("/var/lib/postgresql/data/archive/0001") == (
        volumes / "nested" / "_data" / "0001"
    )
    assert fs.resolve("/var/lib/postgresql/database") == (
        container.layer / "var/lib/postgresql/database"
    )  # a sibling with a common prefix is not under the mount


def test_paths_outside_mounts_land_in_the_container_layer(container: Container) -> None:
    fs = ContainerFS(container)
    fs.write_text("/tmp/scratch.txt", "temporary")
    assert (container.layer / "tmp" / "scratch.txt").read_text() == "temporary"


def test_a_bind_mount_shows_the_host_files(container: Container) -> None:
    assert ContainerFS(container).read_text("/etc/catalog/settings.json") == '{"currency": "EUR"}'


def test_writes_through_a_read_only_mount_fail_with_erofs(
    container: Container, host_config: Path
) -> None:
    fs = ContainerFS(container)
    with pytest.raises(ReadOnlyFileSystemError) as info:
        fs.write_text("/etc/catalog/settings.json", "{}")
    assert "Read-only file system" in str(info.value)
    assert info.value.errno == errno.EROFS
    with pytest.raises(ReadOnlyFileSystemError):
        fs.mkdir("/etc/catalog/new")
    with pytest.raises(ReadOnlyFileSystemError):
        fs.open("/etc/catalog/settings.json", "a")
    assert (host_config / "settings.json").read_text() == '{"currency": "EUR"}'
    assert not (host_config / "new").exists()


def test_dot_dot_cannot_climb_above_the_container_root(container: Container) -> None:
    fs = ContainerFS(container)
    assert fs.resolve("/../../../etc/passwd") == container.layer / "etc" / "passwd"
    assert fs.resolve("/var/lib/postgresql/data/../../x") == container.layer / "var/lib/x"


def test_symlinks_pointing_out_of_the_layer_are_refused(
    container: Container, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host only")
    (container.layer / "etc").mkdir(parents=True, exist_ok=True)  # the image ships /etc
    (container.layer / "etc" / "shadow").symlink_to(secret)
    (container.layer / "escape").symlink_to(tmp_path)
    (container.layer / "relative").symlink_to("../../../..")
    fs = ContainerFS(container)
    for path in ("/etc/shadow", "/escape/secret.txt", "/relative/x"):
        with pytest.raises(PathEscapeError, match="resolves outside the container layer"):
            fs.resolve(path)
    with pytest.raises(PathEscapeError):
        fs.write_text("/escape/planted.txt", "x")
    assert not (tmp_path / "planted.txt").exists()
    assert secret.read_text() == "host only"


def test_symlinks_inside_the_layer_are_followed(container: Container) -> None:
    (container.layer / "real").mkdir()
    (container.layer / "alias").symlink_to("real")
    ContainerFS(container).write_text("/alias/f.txt", "ok")
    assert (container.layer / "real" / "f.txt").read_text() == "ok"


def test_symlinks_out_of_a_volume_are_refused(container: Container, tmp_path: Path) -> None:
    data = tmp_path / "state" / "volumes" / "pgdata" / "_data"
    (data / "out").symlink_to(tmp_path)
    with pytest.raises(PathEscapeError, match="resolves outside volume pgdata"):
        ContainerFS(container).resolve("/var/lib/postgresql/data/out/x")


def test_a_volume_data_dir_replaced_by_a_symlink_is_refused(
    container: Container, tmp_path: Path
) -> None:
    data = tmp_path / "state" / "volumes" / "pgdata" / "_data"
    data.rmdir()
    data.symlink_to(tmp_path)
    with pytest.raises(PathEscapeError, match="is a symlink"):
        ContainerFS(container).resolve("/var/lib/postgresql/data/x")


@pytest.mark.parametrize("path", ["relative/path", "", "/with\0nul"])
def test_malformed_container_paths_are_usage_errors(container: Container, path: str) -> None:
    with pytest.raises(UsageError):
        ContainerFS(container).resolve(path)
