"""The runtime hands a replica the host paths of its /etc/catalog and /var/log/catalog."""

from __future__ import annotations

from pathlib import Path

from lbdemo.containers.containers import ContainerStore
from lbdemo.containers.mounts import parse_volume_spec
from lbdemo.runtime.launch import _catalog_dirs


def test_without_mounts_both_are_in_the_layer(tmp_path: Path) -> None:
    container = ContainerStore(tmp_path).create("lbdemo/catalog:1.0")
    assert _catalog_dirs(container) == [
        "--config-dir",
        str(container.layer / "etc/catalog"),
        "--log-dir",
        str(container.layer / "var/log/catalog"),
    ]


def test_mounts_decide_and_a_read_only_log_mount_means_no_log_file(tmp_path: Path) -> None:
    config, logs = tmp_path / "config", tmp_path / "logs"
    container = ContainerStore(tmp_path / "state").create(
        "lbdemo/catalog:1.0",
        mounts=[
            parse_volume_spec(f"{config}:/etc/catalog:ro"),
            parse_volume_spec(f"{logs}:/var/log/catalog:ro"),
        ],
    )
    assert _catalog_dirs(container) == ["--config-dir", str(config)]
    writable = ContainerStore(tmp_path / "state").create(
        "lbdemo/catalog:1.0", mounts=[parse_volume_spec("logs:/var/log/catalog")]
    )
    assert _catalog_dirs(writable)[-1] == str(tmp_path / "state/volumes/logs/_data")
