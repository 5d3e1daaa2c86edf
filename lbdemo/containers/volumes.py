"""Volumes with Docker's semantics: they outlive containers, and one in use cannot be removed.

A volume is ``<state>/volumes/<name>/_data`` (its ``Mountpoint``) plus ``volume.json``. "In
use" means *any* container record mounts it, stopped and never-started ones included: a stopped
container can be started again, so Docker keeps its volumes, and ``-f`` does not override that.
Anonymous volumes (made for ``-v /path``) carry Docker's label ``com.docker.volume.anonymous``;
``prune`` removes only those unless ``--all``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lbdemo.containers.errors import (
    InvalidFilterError,
    NoSuchVolumeError,
    UnknownDriverError,
    VolumeInUseError,
)
from lbdemo.containers.names import new_id, validate_volume_name
from lbdemo.containers.paths import (
    StatePaths,
    read_json,
    remove_tree_atomically,
    state_lock,
    tree_size,
    write_json_atomic,
)
from lbdemo.errors import StateError, UsageError

ANONYMOUS_LABEL = "com.docker.volume.anonymous"
DRIVER = "local"


@dataclass(frozen=True)
class Volume:
    name: str
    created_at: str
    mountpoint: Path
    labels: dict[str, str] | None = None
    options: dict[str, str] | None = None

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in (self.labels or {})

    def inspect(self) -> dict[str, Any]:
        """The object ``docker volume inspect`` prints, key for key."""
        return {
            "CreatedAt": self.created_at,
            "Driver": DRIVER,
            "Labels": self.labels,
            "Mountpoint": str(self.mountpoint),
            "Name": self.name,
            "Options": self.options,
            "Scope": "local",
        }


@dataclass(frozen=True)
class PruneResult:
    deleted: list[str] = field(default_factory=list)
    reclaimed_bytes: int = 0


def rfc3339_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_filters(specs: Sequence[str]) -> dict[str, list[str]]:
    """``["label=a", "dangling=true"]`` -> ``{"label": ["a"], "dangling": ["true"]}``."""
    filters: dict[str, list[str]] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise UsageError(f"bad format of filter (expected name=value): {spec}")
        filters.setdefault(key.strip().lower(), []).append(value)
    return filters


def _check_keys(filters: Mapping[str, list[str]], allowed: set[str]) -> None:
    for key in filters:
        if key not in allowed:
            raise InvalidFilterError(f"invalid filter '{key}'")


def _label_matches(labels: Mapping[str, str], spec: str) -> bool:
    key, sep, value = spec.partition("=")
    if key not in labels:
        return False
    return not sep or labels[key] == value


def _parse_bool_filter(key: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise InvalidFilterError(f"invalid filter '{key}={value}'")


class VolumeStore:
    """Volumes of one state root. Safe to use from the CLI and the daemon at once."""

    def __init__(self, state_root: Path) -> None:
        self.root = Path(state_root)
        self.paths = StatePaths(self.root)

    # -- reading ---------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        try:
            return self.paths.volume_meta(name).is_file()
        except StateError:
            return False

    def get(self, name: str) -> Volume:
        try:
            meta = read_json(self.paths.volume_meta(name))
        except (StateError, FileNotFoundError, NotADirectoryError) as exc:
            raise NoSuchVolumeError(name) from exc
        return Volume(
            name=name,
            created_at=str(meta.get("CreatedAt", "")),
            mountpoint=self.paths.volume_data(name),
            labels=meta.get("Labels"),
            options=meta.get("Options"),
        )

    def all(self) -> list[Volume]:
        volumes = []
        for name in self.paths.volume_names():
            try:
                volumes.append(self.get(name))
            except NoSuchVolumeError:
                continue  # removed between listing and reading
        return volumes

    def users(self) -> dict[str, list[str]]:
        """Volume name -> ids of the container records (any state) that mount it."""
        used: dict[str, list[str]] = {}
        for container_id in self.paths.container_ids():
            try:
                record = read_json(self.paths.container_config(container_id))
            except (OSError, ValueError):
                continue
            for mount in record.get("Mounts", []):
                if mount.get("type") == "volume" and mount.get("name"):
                    used.setdefault(mount["name"], []).append(container_id)
        return used

    def list(self, filters: Sequence[str] = ()) -> list[Volume]:
        """``docker volume ls --filter``: dangling, driver, label (all must match), name."""
        parsed = parse_filters(filters)
        _check_keys(parsed, {"dangling", "driver", "label", "label!", "name"})
        users = self.users() if "dangling" in parsed else {}
        result = []
        for volume in self.all():
            labels = volume.labels or {}
            if any(
                _parse_bool_filter("dangling", v) == (volume.name in users)
                for v in parsed.get("dangling", [])
            ):
                continue
            if any(v != DRIVER for v in parsed.get("driver", [])):
                continue
            if not all(_label_matches(labels, v) for v in parsed.get("label", [])):
                continue
            if any(_label_matches(labels, v) for v in parsed.get("label!", [])):
                continue
            if parsed.get("name") and not any(v in volume.name for v in parsed["name"]):
                continue
            result.append(volume)
        return result

    # -- changing --------------------------------------------------------------------------

    def create(
        self,
        name: str | None = None,
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
        driver: str = DRIVER,
    ) -> Volume:
        """Create a volume; an existing name is returned unchanged (Docker's no-op).

        No name makes an anonymous volume: a 64-hex name and the anonymous label. ``labels``
        and ``options`` of ``None`` are stored as ``null``, as Docker does for volumes a
        container created; the CLI passes ``{}``.
        """
        shown = name or ""
        if driver != DRIVER:
            raise UnknownDriverError(
                f"create {shown}: error looking up volume plugin {driver}: "
                f'plugin "{driver}" not found'
            )
        if name:
            validate_volume_name(name)
        else:
            name = new_id()
            labels = {**(labels or {}), ANONYMOUS_LABEL: ""}
        with state_lock(self.root):
            if self.exists(name):
                if not self.mountpoint_is_safe(name):
                    # A link planted as _data would let a container write outside the state root.
                    raise StateError(
                        f"volume {name}: its data directory {self.paths.volume_data(name)} is "
                        "not a plain directory; refusing to mount it"
                    )
                return self.get(name)
            volume_dir = self.paths.volume_dir(name)
            volume_dir.mkdir(parents=True, exist_ok=True)
            self.paths.volume_data(name).mkdir(exist_ok=True)
            meta = {
                "CreatedAt": rfc3339_now(),
                "Labels": dict(labels) if labels is not None else None,
                "Options": dict(options) if options is not None else None,
            }
            write_json_atomic(self.paths.volume_meta(name), meta)
            return self.get(name)

    def remove(self, name: str, force: bool = False) -> None:
        """``docker volume rm``: refused while any container mounts it, ``-f`` included.

        ``force`` only makes a missing volume not an error, as in Docker.
        """
        with state_lock(self.root):
            if not self.exists(name):
                if force:
                    return
                raise NoSuchVolumeError(name)
            users = self.users().get(name)
            if users:
                raise VolumeInUseError(name, users)
            remove_tree_atomically(self.paths.volume_dir(name), self.paths.volumes_dir)

    def prune(self, all: bool = False, filters: Sequence[str] = ()) -> PruneResult:
        """Remove unused volumes: anonymous ones, or every unused one with ``all``.

        Label filters follow Docker's prune documentation: ``label=`` filters are combined
        with OR (a volume matching any is pruned), ``label!=`` filters exclude.
        """
        parsed = parse_filters(filters)
        _check_keys(parsed, {"label", "label!", "all"})
        if any(_parse_bool_filter("all", v) for v in parsed.get("all", [])):
            all = True
        deleted: list[str] = []
        reclaimed = 0
        with state_lock(self.root):
            users = self.users()
            for volume in self.all():
                labels = volume.labels or {}
                if volume.name in users or not (all or volume.anonymous):
                    continue
                wanted = parsed.get("label", [])
                if wanted and not any(_label_matches(labels, v) for v in wanted):
                    continue
                if any(_label_matches(labels, v) for v in parsed.get("label!", [])):
                    continue
                size = tree_size(volume.mountpoint)
                remove_tree_atomically(self.paths.volume_dir(volume.name), self.paths.volumes_dir)
                deleted.append(volume.name)
                reclaimed += size
        return PruneResult(deleted, reclaimed)

    def mountpoint_is_safe(self, name: str) -> bool:
        """The volume's ``_data`` is a real directory, not a link planted to lead elsewhere."""
        data = self.paths.volume_data(name)
        return data.is_dir() and not os.path.islink(data)
