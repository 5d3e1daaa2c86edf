"""Where the container model keeps its files, and how it changes them safely.

The layout copies ``/var/lib/docker`` (see :mod:`lbdemo.config`)::

    <state>/.lock                        flock'ed around every multi-step change
    <state>/containers/<64 hex>/config.json
    <state>/containers/<64 hex>/layer/   the container layer
    <state>/volumes/<name>/volume.json   CreatedAt, Labels, Options (Docker keeps these in a db)
    <state>/volumes/<name>/_data         the volume's data (its ``Mountpoint``)

Every path here is built from a validated name or a 64-hex id and checked to stay under its
directory, so nothing a user types can point the tool outside the state root. Files are written
to a temporary sibling and ``os.replace``d, so a reader (the CLI while the daemon writes, or the
other way round) sees either the old record or the new one, never half of one.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from lbdemo.errors import StateError

CONTAINER_ID = re.compile(r"[0-9a-f]{64}")


class StatePaths:
    """The paths of one state root; builds no path from unchecked input."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def containers_dir(self) -> Path:
        return self.root / "containers"

    @property
    def volumes_dir(self) -> Path:
        return self.root / "volumes"

    def container_dir(self, container_id: str) -> Path:
        if not CONTAINER_ID.fullmatch(container_id):
            raise StateError(f"not a container id: {container_id!r}")
        return self.containers_dir / container_id

    def container_config(self, container_id: str) -> Path:
        return self.container_dir(container_id) / "config.json"

    def container_layer(self, container_id: str) -> Path:
        return self.container_dir(container_id) / "layer"

    def volume_dir(self, name: str) -> Path:
        # Callers validate names with Docker's rule first; this is the last line of defence.
        if not name or "/" in name or "\0" in name or name in (".", ".."):
            raise StateError(f"not a volume name: {name!r}")
        return self.volumes_dir / name

    def volume_meta(self, name: str) -> Path:
        return self.volume_dir(name) / "volume.json"

    def volume_data(self, name: str) -> Path:
        return self.volume_dir(name) / "_data"

    def container_ids(self) -> list[str]:
        """Ids of the container records on disk (entries that are not records are ignored)."""
        try:
            entries = list(os.scandir(self.containers_dir))
        except FileNotFoundError:
            return []
        return sorted(
            e.name
            for e in entries
            if CONTAINER_ID.fullmatch(e.name)
            and e.is_dir(follow_symlinks=False)
            and os.path.isfile(os.path.join(e.path, "config.json"))
        )

    def volume_names(self) -> list[str]:
        try:
            entries = list(os.scandir(self.volumes_dir))
        except FileNotFoundError:
            return []
        return sorted(
            e.name
            for e in entries
            if not e.name.startswith(".")
            and e.is_dir(follow_symlinks=False)
            and os.path.isfile(os.path.join(e.path, "volume.json"))
        )


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON so that readers see the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with _suppress_oserror():
            os.unlink(tmp)
        raise


def remove_tree_atomically(path: Path, parent: Path) -> None:
    """Delete directory ``path`` (a direct child of ``parent``) so it vanishes in one step.

    It is first renamed to a hidden sibling, so listings never see a half-deleted record; the
    tree is then removed without following symlinks (``shutil.rmtree`` unlinks a link, it never
    descends into what it points at), so a link in a layer cannot make us delete host files.
    """
    if path.parent != parent or path.is_symlink() or not path.is_dir():
        raise StateError(f"refusing to remove {path}: not a directory under {parent}")
    graveyard = parent / f".removing-{path.name}-{os.getpid()}"
    os.replace(path, graveyard)
    shutil.rmtree(graveyard)


def tree_size(path: Path) -> int:
    """Bytes in regular files under ``path``, not following symlinks (what prune reclaims)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path, followlinks=False):
        for name in files:
            with _suppress_oserror():
                st = os.lstat(os.path.join(dirpath, name))
                if stat.S_ISREG(st.st_mode):
                    total += st.st_size
    return total


@contextmanager
def _suppress_oserror() -> Iterator[None]:
    with suppress(OSError):
        yield


class _RootLock:
    """One state root's lock: a thread lock for this process plus ``flock`` for others.

    ``flock`` locks belong to an open file, so a second ``open``+``flock`` in the same process
    would wait on itself; counting the depth lets a store call another store (a container
    create that creates volumes) under one lock.
    """

    def __init__(self) -> None:
        self.thread_lock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


_locks: dict[Path, _RootLock] = {}
_locks_guard = threading.Lock()


@contextmanager
def state_lock(root: Path) -> Iterator[None]:
    """Hold ``<root>/.lock`` exclusively (re-entrant within a process)."""
    key = Path(root).resolve()
    with _locks_guard:
        lock = _locks.setdefault(key, _RootLock())
    with lock.thread_lock:
        if lock.depth == 0:
            key.mkdir(parents=True, exist_ok=True)
            fd = os.open(key / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            lock.fd = fd
        lock.depth += 1
        try:
            yield
        finally:
            lock.depth -= 1
            if lock.depth == 0 and lock.fd is not None:
                fcntl.flock(lock.fd, fcntl.LOCK_UN)
                os.close(lock.fd)
                lock.fd = None
