"""Images ship files; a container's layer starts as their copy and ``diff`` shows what changed."""

from __future__ import annotations

import shutil
from pathlib import Path

from lbdemo.containers.containers import ContainerStore
from lbdemo.containers.fs import ContainerFS, layer_changes
from lbdemo.containers.images import CATALOG_CONFIG_FILE, find_image
from lbdemo.containers.mounts import parse_volume_spec

IMAGE = "lbdemo/catalog:1.0"


def test_a_new_container_has_its_images_files_and_no_changes(tmp_path: Path) -> None:
    container = ContainerStore(tmp_path).create(IMAGE)
    fs = ContainerFS(container)
    assert "currency =" in fs.read_text(CATALOG_CONFIG_FILE)
    assert layer_changes(container, find_image(IMAGE)) == []


def test_the_two_catalog_images_differ_in_their_config_file(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    old, new = store.create("lbdemo/catalog:1.0"), store.create("lbdemo/catalog:1.1")
    assert "currency = \n" in ContainerFS(old).read_text(CATALOG_CONFIG_FILE)
    assert "currency = KRW\n" in ContainerFS(new).read_text(CATALOG_CONFIG_FILE)


def test_changed_added_and_deleted_files_as_docker_diff_lists_them(tmp_path: Path) -> None:
    container = ContainerStore(tmp_path).create(IMAGE)
    fs = ContainerFS(container)
    fs.write_text(CATALOG_CONFIG_FILE, "currency = EUR\n")
    fs.write_text("/tmp/new/file.txt", "x")
    shutil.rmtree(container.layer / "var" / "log" / "catalog")
    assert layer_changes(container, find_image(IMAGE)) == [
        ("C", "/etc"),
        ("C", "/etc/catalog"),
        ("C", "/etc/catalog/catalog.conf"),
        ("A", "/tmp"),
        ("A", "/tmp/new"),
        ("A", "/tmp/new/file.txt"),
        ("C", "/var"),
        ("C", "/var/log"),
        ("D", "/var/log/catalog"),
    ]


def test_writing_the_same_bytes_back_is_no_change(tmp_path: Path) -> None:
    container = ContainerStore(tmp_path).create(IMAGE)
    fs = ContainerFS(container)
    fs.write_text(CATALOG_CONFIG_FILE, fs.read_text(CATALOG_CONFIG_FILE))
    assert layer_changes(container, find_image(IMAGE)) == []


def test_what_goes_through_a_mount_is_not_in_the_layer(tmp_path: Path) -> None:
    host = tmp_path / "cfg"
    container = ContainerStore(tmp_path / "state").create(
        IMAGE,
        mounts=[
            parse_volume_spec(f"{host}:/etc/catalog"),
            parse_volume_spec("logs:/var/log/catalog"),
        ],
    )
    fs = ContainerFS(container)
    fs.write_text(CATALOG_CONFIG_FILE, "currency = EUR\n")
    fs.write_text("/var/log/catalog/catalog.log", "a line\n")
    assert (host / "catalog.conf").read_text() == "currency = EUR\n"
    assert layer_changes(container, find_image(IMAGE)) == []


def test_an_empty_named_volume_is_filled_from_the_image_a_bind_mount_never_is(
    tmp_path: Path,
) -> None:
    store = ContainerStore(tmp_path / "state")
    host = tmp_path / "empty-host-dir"
    mounts = [parse_volume_spec("cfg:/etc/catalog"), parse_volume_spec(f"{host}:/var/log/catalog")]
    container = store.create(IMAGE, mounts=mounts)
    volume_file = tmp_path / "state/volumes/cfg/_data/catalog.conf"
    assert volume_file.read_text() == ContainerFS(container).read_text(CATALOG_CONFIG_FILE)
    assert list(host.iterdir()) == []
    volume_file.write_text("currency = USD\n")
    store.create(IMAGE, mounts=[parse_volume_spec("cfg:/etc/catalog")])
    assert volume_file.read_text() == "currency = USD\n", "a volume with data is never refilled"
    store.create(IMAGE, mounts=[parse_volume_spec("fresh:/etc/catalog:nocopy")])
    assert list((tmp_path / "state/volumes/fresh/_data").iterdir()) == []
