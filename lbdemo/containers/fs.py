"""A container's view of its files: which host path a container path really is.

``/var/lib/postgresql/data`` inside a container is, on the host, wherever the longest mount
covering it points (a volume's ``_data`` or a bind source), or else the same path inside the
container layer. That is the whole storage chapter in one function: what goes through a mount
survives the container, what lands in the layer is deleted with it.

The runtime enforces two things a kernel would: a write through a ``ro`` mount fails with
``Read-only file system`` (EROFS), and no path, ``..`` or symlink leads out of the mount source
or the layer it resolved into (a symlink in a layer pointing at ``/etc`` is an error here, not
a way onto the host). The check resolves symlinks at call time; a process that swaps links
between the check and its own ``open`` is outside what this teaching runtime defends against.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import IO, Any

from lbdemo.containers.containers import Container
from lbdemo.containers.errors import PathEscapeError, ReadOnlyFileSystemError
from lbdemo.containers.images import Image
from lbdemo.containers.mounts import Mount
from lbdemo.errors import UsageError

_WRITE_MODES = set("wax+")


def _clean(container_path: str) -> str:
    if not isinstance(container_path, str) or "\0" in container_path:
        raise UsageError(f"invalid container path: {container_path!r}")
    if not container_path.startswith("/"):
        raise UsageError(f"container path must be absolute: {container_path!r}")
    # Inside a container "/.." is "/": lexical ".." cannot climb above the container root.
    return posixpath.normpath("/" + container_path.lstrip("/"))


def _within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


class ContainerFS:
    """Resolve and access container paths of one container, as its runtime would."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def mount_for(self, container_path: str) -> Mount | None:
        """The mount whose destination covers the path most specifically, if any."""
        path = _clean(container_path)
        best: Mount | None = None
        for mount in self.container.mounts:
            if _within(path, mount.destination) and (
                best is None or len(mount.destination) > len(best.destination)
            ):
                best = mount
        return best

    def resolve(self, container_path: str, write: bool = False) -> Path:
        """The host path for ``container_path``; raises on an escape or a write to ``ro``."""
        path = _clean(container_path)
        mount = self.mount_for(path)
        if mount is None:
            base, rel, where = self.container.layer, path.lstrip("/"), "the container layer"
        else:
            rel = path[len(mount.destination) :].lstrip("/")
            base = Path(mount.source)
            where = f"volume {mount.name}" if mount.type == "volume" else f"bind source {base}"
            if write and not mount.rw:
                raise ReadOnlyFileSystemError(path)
        # The layer and a volume's _data belong to the state root: a link planted in their
        # place must not turn them into a door to somewhere else.
        if (mount is None or mount.type == "volume") and os.path.islink(base):
            raise PathEscapeError(f"{path}: {where} is a symlink; refusing to follow it")
        real_base = os.path.realpath(base)
        real = os.path.realpath(os.path.join(base, rel)) if rel else real_base
        if not _within(real, real_base):
            raise PathEscapeError(f"{path}: resolves outside {where}")
        return Path(real)

    def open(self, container_path: str, mode: str = "r", **kwargs: Any) -> IO[Any]:
        writing = bool(_WRITE_MODES & set(mode))
        host = self.resolve(container_path, write=writing)
        if writing:
            host.parent.mkdir(parents=True, exist_ok=True)
        return open(host, mode, **kwargs)

    def read_text(self, container_path: str, encoding: str = "utf-8") -> str:
        return self.resolve(container_path).read_text(encoding=encoding)

    def write_text(self, container_path: str, text: str, encoding: str = "utf-8") -> None:
        with self.open(container_path, "w", encoding=encoding) as f:
            f.write(text)

    def mkdir(self, container_path: str) -> Path:
        host = self.resolve(container_path, write=True)
        host.mkdir(parents=True, exist_ok=True)
        return host

    def exists(self, container_path: str) -> bool:
        return self.resolve(container_path).exists()

    def listdir(self, container_path: str) -> list[str]:
        return sorted(os.listdir(self.resolve(container_path)))


def layer_changes(container: Container, image: Image) -> list[tuple[str, str]]:
    """``docker diff``: ``(kind, path)`` for what the layer changed against its image, sorted by
    path; kind ``A`` added, ``C`` changed, ``D`` deleted.

    The layer started as a copy of the image's files (the ``vfs`` driver's layout), so a
    change is a difference between the two trees, found by comparing them as that driver
    does. A deleted directory is one ``D`` line; every directory above a change is ``C``
    (its entries changed); mounts are not in the layer, so what goes through them never shows.
    """
    layer = container.layer
    in_layer: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(layer, followlinks=False):
        for name in dirnames + filenames:
            host = Path(dirpath) / name
            in_layer["/" + host.relative_to(layer).as_posix()] = host
    changes: dict[str, str] = {}
    for path, host in in_layer.items():
        if path not in image.files:
            changes[path] = "A"
        elif _differs(host, image.files[path]):
            changes[path] = "C"
    for path in image.files:
        parent = posixpath.dirname(path)
        if path not in in_layer and (parent == "/" or parent in in_layer):
            changes[path] = "D"
    for path in list(changes):
        parent = posixpath.dirname(path)
        while parent != "/":
            changes.setdefault(parent, "C")
            parent = posixpath.dirname(parent)
    return [(kind, path) for path, kind in sorted(changes.items())]


def _differs(host: Path, image_text: str | None) -> bool:
    if host.is_symlink():
        return True
    if image_text is None:
        return not host.is_dir()
    if not host.is_file():
        return True
    return host.read_bytes() != image_text.encode("utf-8")
