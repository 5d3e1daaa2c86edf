"""Container records: what ``docker create`` leaves behind, and what ``docker rm`` takes away.

A container here is ``<state>/containers/<id>/config.json`` (its record) and ``layer/`` (its
writable container layer); the process, when one runs, is the supervisor's. The record is the
model the supervisor uses: it calls :meth:`ContainerStore.set_state` when it starts or reaps a
process, and every reader checks that a "running" record's pid is still alive (a record whose
process vanished, say after the daemon was killed, reads as exited, as Docker reports it).

Removing a container deletes its record and its layer, and with them everything it wrote
outside its mounts: containers are replaced, not repaired. Named volumes and bind-mount
sources are never touched; anonymous volumes go only with ``volumes=True`` (``docker rm -v``).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from lbdemo.containers.errors import (
    ContainerRunningError,
    InvalidNameError,
    NameConflictError,
    NoSuchContainerError,
    VolumeInUseError,
)
from lbdemo.containers.images import Image, find_image, image_files_under, unpack_files
from lbdemo.containers.mounts import Mount
from lbdemo.containers.names import new_id, random_name, validate_container_name
from lbdemo.containers.paths import (
    CONTAINER_ID,
    StatePaths,
    read_json,
    remove_tree_atomically,
    state_lock,
    write_json_atomic,
)
from lbdemo.containers.volumes import VolumeStore
from lbdemo.errors import StateError, UsageError
from lbdemo.process.pids import pid_alive, process_start_ticks

Status = Literal["created", "running", "exited"]
STATUSES: tuple[Status, ...] = ("created", "running", "exited")
ZERO_TIME = "0001-01-01T00:00:00Z"
# What a record reports when its process vanished without anyone seeing it exit.
LOST_EXIT_CODE = 255


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime | None:
    if not text or text == ZERO_TIME:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    created: str
    image: str  # the reference the user gave, as ``docker ps`` shows it
    image_id: str
    cmd: tuple[str, ...]
    env: dict[str, str]
    labels: dict[str, str]
    mounts: tuple[Mount, ...]
    layer: Path
    status: Status = "created"
    pid: int = 0
    pid_start: int | None = None
    exit_code: int = 0
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    ports: tuple[str, ...] = ()
    restart_policy: str = "no"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def log_path(self) -> Path:
        """Where the container's output (stdout and stderr) goes: beside its record, so
        ``lbdemo logs`` works after it exited and the file goes with ``lbdemo rm``, as the
        json-file driver's ``/var/lib/docker/containers/<id>/<id>-json.log`` does."""
        return self.layer.parent / "container.log"

    def to_record(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Name": self.name,
            "Created": self.created,
            "Image": self.image,
            "ImageId": self.image_id,
            "Cmd": list(self.cmd),
            "Env": dict(self.env),
            "Labels": dict(self.labels),
            "Mounts": [m.to_record() for m in self.mounts],
            "Ports": list(self.ports),
            "RestartPolicy": self.restart_policy,
            "State": {
                "Status": self.status,
                "Pid": self.pid,
                "PidStart": self.pid_start,
                "ExitCode": self.exit_code,
                "StartedAt": self.started_at,
                "FinishedAt": self.finished_at,
            },
            "Extra": self.extra,
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any], layer: Path) -> Container:
        state = data.get("State", {})
        status = state.get("Status", "created")
        if status not in STATUSES:
            raise StateError(f"container {data.get('Id')}: unknown status {status!r}")
        return cls(
            id=str(data["Id"]),
            name=str(data["Name"]),
            created=str(data["Created"]),
            image=str(data["Image"]),
            image_id=str(data.get("ImageId", "")),
            cmd=tuple(data.get("Cmd", ())),
            env=dict(data.get("Env", {})),
            labels=dict(data.get("Labels", {})),
            mounts=tuple(Mount.from_record(m) for m in data.get("Mounts", [])),
            layer=layer,
            status=status,
            pid=int(state.get("Pid", 0)),
            pid_start=state.get("PidStart"),
            exit_code=int(state.get("ExitCode", 0)),
            started_at=str(state.get("StartedAt", ZERO_TIME)),
            finished_at=str(state.get("FinishedAt", ZERO_TIME)),
            ports=tuple(data.get("Ports", ())),
            restart_policy=str(data.get("RestartPolicy", "no")),
            extra=dict(data.get("Extra", {})),
        )

    def inspect(self) -> dict[str, Any]:
        """The object ``docker inspect`` prints for a container (the fields lbdemo has)."""
        binds = [m.spec for m in self.mounts if m.spec is not None and ":" in m.spec]
        explicit = [
            {
                "Type": m.type,
                "Source": m.source if m.type == "bind" else m.name,
                "Target": m.destination,
                "ReadOnly": not m.rw,
            }
            for m in self.mounts
            if m.spec is None
        ]
        anonymous: dict[str, dict[str, Any]] = {
            m.destination: {} for m in self.mounts if m.spec is not None and ":" not in m.spec
        }
        return {
            "Id": self.id,
            "Created": self.created,
            "Path": self.cmd[0] if self.cmd else "",
            "Args": list(self.cmd[1:]),
            "State": {
                "Status": self.status,
                "Running": self.running,
                "Paused": False,
                "Restarting": False,
                "OOMKilled": False,
                "Dead": False,
                "Pid": self.pid if self.running else 0,
                "ExitCode": self.exit_code,
                "Error": "",
                "StartedAt": self.started_at,
                "FinishedAt": self.finished_at,
            },
            "Image": self.image_id,
            "Name": "/" + self.name,
            "RestartCount": 0,
            "Driver": "vfs",
            "HostConfig": {
                "Binds": binds or None,
                "Mounts": explicit or None,
                "RestartPolicy": {"Name": self.restart_policy, "MaximumRetryCount": 0},
            },
            "GraphDriver": {"Name": "vfs", "Data": {"UpperDir": str(self.layer)}},
            "Mounts": [m.to_docker() for m in self.mounts],
            "Config": {
                "Image": self.image,
                "Cmd": list(self.cmd),
                "Env": [f"{k}={v}" for k, v in self.env.items()],
                "Labels": dict(self.labels),
                "Volumes": anonymous or None,
            },
            "NetworkSettings": {"Ports": list(self.ports)},
        }


def _copy_up(image: Image, mount: Mount, mountpoint: Path) -> None:
    """Docker fills an empty volume with what the image has at the mount point (not with
    ``nocopy``, never a bind mount): ``-v cfg:/etc/catalog`` starts with the image's config."""
    if "nocopy" in mount.mode.split(",") or not image_files_under(image, mount.destination):
        return
    if mountpoint.is_dir() and not any(mountpoint.iterdir()):
        unpack_files(image, mountpoint, under=mount.destination)


def _default_kill(pid: int) -> None:
    # It may exit between our check and the signal; then the goal is already reached.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class ContainerStore:
    """Container records of one state root; safe to use from the CLI and the daemon at once."""

    def __init__(self, state_root: Path) -> None:
        self.root = Path(state_root)
        self.paths = StatePaths(self.root)
        self.volumes = VolumeStore(self.root)

    # -- reading ---------------------------------------------------------------------------

    def _load(self, container_id: str) -> Container:
        try:
            data = read_json(self.paths.container_config(container_id))
        except FileNotFoundError as exc:
            raise NoSuchContainerError(container_id) from exc
        except ValueError as exc:
            raise StateError(f"container {container_id}: unreadable record: {exc}") from exc
        return Container.from_record(data, self.paths.container_layer(container_id))

    def _save(self, container: Container) -> None:
        write_json_atomic(self.paths.container_config(container.id), container.to_record())

    def _all_raw(self) -> list[Container]:
        containers = []
        for container_id in self.paths.container_ids():
            try:
                containers.append(self._load(container_id))
            except NoSuchContainerError:
                continue  # removed while we listed
        return containers

    def _resolve_id(self, ref: str) -> str:
        """Docker's lookup order: full id, then exact name, then a unique id prefix."""
        ref = ref.removeprefix("/") if ref.startswith("/") else ref
        if CONTAINER_ID.fullmatch(ref) and ref in self.paths.container_ids():
            return ref
        containers = self._all_raw()
        for container in containers:
            if container.name == ref:
                return container.id
        if ref and all(c in "0123456789abcdef" for c in ref):
            hits = [c.id for c in containers if c.id.startswith(ref)]
            if len(hits) > 1:
                raise StateError(f"multiple IDs found with provided prefix: {ref}")
            if hits:
                return hits[0]
        raise NoSuchContainerError(ref)

    def _reconcile(self, container: Container) -> Container:
        """A "running" record whose process is gone is exited; write that down."""
        if not container.running or pid_alive(container.pid, container.pid_start):
            return container
        with state_lock(self.root):
            try:
                current = self._load(container.id)
            except NoSuchContainerError:
                return container
            if current.running and not pid_alive(current.pid, current.pid_start):
                current = replace(
                    current,
                    status="exited",
                    pid=0,
                    pid_start=None,
                    exit_code=LOST_EXIT_CODE,
                    finished_at=now_rfc3339(),
                )
                self._save(current)
            return current

    def get(self, ref: str) -> Container:
        """The container a full id, a name (with or without ``/``) or a unique id prefix names."""
        return self._reconcile(self._load(self._resolve_id(ref)))

    def list(self, all: bool = False) -> list[Container]:
        """Running containers (every one with ``all``), newest first like ``docker ps``."""
        containers = [self._reconcile(c) for c in self._all_raw()]
        if not all:
            containers = [c for c in containers if c.running]
        return sorted(containers, key=lambda c: c.created, reverse=True)

    def inspect(self, ref: str) -> dict[str, Any]:
        return self.get(ref).inspect()

    # -- changing --------------------------------------------------------------------------

    def create(
        self,
        image: str,
        name: str | None = None,
        mounts: Sequence[Mount] = (),
        labels: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        ports: Sequence[str] = (),
        restart_policy: str = "no",
    ) -> Container:
        """Record a new container (status ``created``) and make the volumes its mounts need.

        Everything is checked before anything is written: a bad image, name, mount or a name
        conflict leaves the state root as it was.
        """
        found = find_image(image)
        bare_name = validate_container_name(name) if name is not None else None
        destinations = [m.destination for m in mounts]
        for dest in destinations:
            if destinations.count(dest) > 1:
                raise InvalidNameError(f"Duplicate mount point: {dest}")
        for mount in mounts:
            if (
                mount.type == "bind"
                and not mount.create_source
                and not os.path.exists(mount.source)
            ):
                raise InvalidNameError(
                    f'invalid mount config for type "bind": bind source path does not exist: '
                    f"{mount.source}"
                )
        with state_lock(self.root):
            existing = {c.name: c.id for c in self._all_raw()}
            if bare_name is not None and bare_name in existing:
                raise NameConflictError(bare_name, existing[bare_name])
            if bare_name is None:
                bare_name = random_name()
                while bare_name in existing:
                    bare_name = random_name()
            resolved = []
            for mount in mounts:
                if mount.type == "volume":
                    volume = self.volumes.create(mount.name or None, labels=None, options=None)
                    _copy_up(found, mount, volume.mountpoint)
                    resolved.append(mount.with_volume(volume.name, volume.mountpoint))
                else:
                    if mount.create_source:
                        # ``-v /host/dir:/x`` creates a missing host directory, as dockerd does.
                        os.makedirs(mount.source, exist_ok=True)
                    resolved.append(mount)
            container_id = new_id()
            while container_id in existing.values():
                container_id = new_id()
            self.paths.container_layer(container_id).mkdir(parents=True)
            # The vfs driver's layer: a full copy of the image's files, changed in place.
            unpack_files(found, self.paths.container_layer(container_id))
            container = Container(
                id=container_id,
                name=bare_name,
                created=now_rfc3339(),
                image=image,
                image_id=found.id,
                cmd=found.cmd,
                env={**found.env, **(env or {})},
                labels={**found.labels, **(labels or {})},
                mounts=tuple(resolved),
                layer=self.paths.container_layer(container_id),
                ports=tuple(ports),
                restart_policy=restart_policy,
            )
            self._save(container)
            return container

    def set_state(
        self,
        ref: str,
        status: Status,
        pid: int | None = None,
        exit_code: int | None = None,
    ) -> Container:
        """Record a state change the supervisor made: ``running`` (with pid) or ``exited``."""
        if status not in STATUSES:
            raise UsageError(
                f"unknown container status {status!r}; use one of {', '.join(STATUSES)}"
            )
        if status == "running" and (pid is None or pid <= 0):
            raise UsageError("a running container needs the pid of its process")
        with state_lock(self.root):
            container = self._load(self._resolve_id(ref))
            now = now_rfc3339()
            if status == "running":
                assert pid is not None
                container = replace(
                    container,
                    status="running",
                    pid=pid,
                    pid_start=process_start_ticks(pid),
                    exit_code=0,
                    started_at=now,
                )
            elif status == "exited":
                container = replace(
                    container,
                    status="exited",
                    pid=0,
                    pid_start=None,
                    exit_code=exit_code if exit_code is not None else 0,
                    finished_at=now,
                )
            else:
                container = replace(container, status="created", pid=0, pid_start=None)
            self._save(container)
            return container

    def remove(
        self,
        ref: str,
        force: bool = False,
        volumes: bool = False,
        kill: Callable[[int], None] | None = None,
    ) -> Container:
        """``docker rm``: delete the record and the layer; ``force`` kills a live process first.

        ``kill`` is how a live pid is stopped (the daemon passes its own, which also reaps);
        the default sends SIGKILL. With ``volumes``, anonymous volumes no other container uses
        are removed too; named volumes and bind sources never are.
        """
        with state_lock(self.root):
            container = self.get(ref)
            if container.running:
                if not force:
                    raise ContainerRunningError(container.id)
                (kill or _default_kill)(container.pid)
            remove_tree_atomically(
                self.paths.container_dir(container.id), self.paths.containers_dir
            )
            if volumes:
                for mount in container.mounts:
                    if mount.type != "volume" or not mount.name:
                        continue
                    try:
                        if self.volumes.get(mount.name).anonymous:
                            self.volumes.remove(mount.name)
                    except VolumeInUseError:
                        continue  # another container still mounts it; Docker keeps it too
                    except StateError:
                        continue
            return container
