"""``lbdemo cp SRC CONTAINER:DEST`` and ``lbdemo cp CONTAINER:SRC DEST``: ``docker cp``.

Files go into, or come out of, the container's filesystem as the container sees it: each
container path is resolved through :class:`~lbdemo.containers.fs.ContainerFS`, so a path under
a volume or a bind mount is that volume's or that host directory's file, and anything else is in
the container layer (and is gone when the container is removed: the pets-vs-cattle lesson). It
works on running and stopped containers alike, as Docker's does.

Docker's rules for where things land (``SRC`` a file: into ``DEST`` if it is a directory, else
as ``DEST``, whose parent must exist; ``DEST/`` that does not exist is an error; ``SRC`` a
directory: copied *into* an existing ``DEST`` directory, or its contents with ``SRC/.``, or
``DEST`` is created from it; never onto a file). Symbolic links are copied as links (``cp -a``).
A write through a read-only mount is refused with Docker's message. On success one line goes
to stderr, ``Successfully copied 61B to web:/etc/catalog/catalog.conf`` (the size is of the
files copied; Docker counts its tar stream).

``-`` is Docker's tar-stream form: ``lbdemo cp web:/etc/catalog - | tar t`` writes a tar of the
path to stdout; ``tar c . | lbdemo cp - web:/etc/catalog`` unpacks one from stdin into an existing
directory. An archive is unpacked into a scratch directory of the state root first, through
Python's ``data`` extraction filter (no absolute names, no ``..``, no links or devices that
leave it), and only then copied in entry by entry, as a local directory is: an archive refused
halfway changes nothing in the container, and its entries still resolve through the mounts.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lbdemo.commands.backend import add_runtime_arguments, elsewhere_on_docker
from lbdemo.config import add_state_argument, state_root
from lbdemo.containers.containers import Container, ContainerStore
from lbdemo.containers.display import error_line, human_size
from lbdemo.containers.errors import (
    NoSuchContainerError,
    PathEscapeError,
    ReadOnlyFileSystemError,
)
from lbdemo.containers.fs import ContainerFS
from lbdemo.errors import LbdemoError, StateError, UsageError


class CopyError(StateError):
    """A copy the engine refuses; printed as ``Error response from daemon: ...``, exit 1."""


class LocalPathError(LbdemoError):
    """A problem with the local path; Docker's CLI prints these bare, exit 1."""


@dataclass(frozen=True)
class Endpoint:
    container: str | None  # None: a local path
    path: str

    @property
    def trailing_dir(self) -> bool:
        return self.path.endswith("/") or self.path.endswith("/.")


def parse_endpoint(arg: str) -> Endpoint:
    """Docker's split: ``NAME:PATH`` when a colon comes before any slash; a local path with a
    colon must start with ``/`` or ``./``."""
    if arg.startswith("/") or arg.startswith("./") or arg.startswith("../") or arg in (".", ".."):
        return Endpoint(None, arg)
    name, colon, path = arg.partition(":")
    if colon and "/" not in name and name:
        return Endpoint(name, path or "/")
    return Endpoint(None, arg)


def _container_path(path: str) -> str:
    # Container paths are relative to the container's root; the leading slash is optional.
    joined = "/" + path.lstrip("/")
    return joined


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return os.lstat(path).st_size
    total = 0
    for dirpath, _dirs, files in os.walk(path, followlinks=False):
        for name in files:
            total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _copy_entry(src: Path, dest: Path) -> None:
    """One file, link or directory tree, as ``cp -a`` would (links stay links)."""
    if src.is_symlink():
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        os.symlink(os.readlink(src), dest)
    elif src.is_dir():
        shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dest, follow_symlinks=False)


def _landing(
    src_is_dir: bool,
    src: str,
    dest_exists: bool,
    dest_is_dir: bool,
    dest: str,
    dest_trailing: bool,
    join: str,
) -> tuple[str, bool]:
    """Docker's table: ``(where the source lands, copy only its contents)``."""
    if not src_is_dir:
        if dest_exists and dest_is_dir:
            return join, False
        if not dest_exists and dest_trailing:
            raise CopyError("the destination directory must exist")
        if dest_exists and dest_trailing:
            raise CopyError(f"cannot copy to {dest}: not a directory")
        return dest, False
    if dest_exists and not dest_is_dir:
        raise CopyError("cannot copy a directory to a file")
    if not dest_exists:
        return dest, True
    return (dest, True) if src.endswith("/.") else (join, False)


def copy_into(container: Container, local: str, dest_path: str) -> int:
    """Copy local file or directory ``local`` to ``dest_path`` in the container; bytes copied."""
    src = Path(local)
    if not os.path.lexists(src):
        raise LocalPathError(f"lstat {os.path.abspath(local)}: no such file or directory")
    fs = ContainerFS(container)
    dest = _container_path(dest_path)
    target = fs.resolve(dest, write=True)
    base = os.path.basename(os.path.abspath(local)) or "root"
    where, contents = _landing(
        src.is_dir() and not src.is_symlink(),
        local,
        target.exists(),
        target.is_dir(),
        dest,
        dest_path.endswith("/"),
        posixpath.join(dest, base),
    )
    parent = posixpath.dirname(where)
    if not fs.resolve(parent).is_dir():
        raise CopyError(f"Could not find the file {parent} in container {container.name}")
    if contents:
        fs.mkdir(where)
        for name in sorted(os.listdir(src)):
            _write(fs, src / name, posixpath.join(where, name))
    else:
        _write(fs, src, where)
    return _size(src)


def _write(fs: ContainerFS, src: Path, where: str) -> None:
    """Each entry resolved on its own: a tree copied over a mount point goes into the mount."""
    if src.is_dir() and not src.is_symlink():
        fs.mkdir(where)
        for name in sorted(os.listdir(src)):
            _write(fs, src / name, posixpath.join(where, name))
        return
    _copy_entry(src, fs.resolve(where, write=True))


def copy_out(container: Container, src_path: str, local: str) -> int:
    """Copy ``src_path`` from the container to the local path ``local``; bytes copied."""
    fs = ContainerFS(container)
    src_container = _container_path(src_path)
    source = fs.resolve(src_container)
    if not os.path.lexists(source):
        raise CopyError(f"Could not find the file {src_container} in container {container.name}")
    dest = Path(local)
    base = posixpath.basename(posixpath.normpath(src_container)) or "root"
    where, contents = _landing(
        source.is_dir() and not source.is_symlink(),
        src_path,
        dest.exists(),
        dest.is_dir(),
        local,
        local.endswith("/"),
        str(dest / base),
    )
    target = Path(where)
    if not target.parent.is_dir():
        raise LocalPathError(f"stat {target.parent}: no such file or directory")
    if contents:
        target.mkdir(exist_ok=True)
        for name in sorted(os.listdir(source)):
            _copy_entry(source / name, target / name)
    else:
        _copy_entry(source, target)
    return _size(source)


def stream_out(container: Container, src_path: str, out: BinaryIO) -> None:
    """``docker cp CONTAINER:SRC -``: a tar of ``SRC`` (named by its last component; with
    ``SRC/.`` its contents) to ``out``; links are archived as links."""
    fs = ContainerFS(container)
    src_container = _container_path(src_path)
    source = fs.resolve(src_container)
    if not os.path.lexists(source):
        raise CopyError(f"Could not find the file {src_container} in container {container.name}")
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if src_path.endswith("/.") and source.is_dir():
            for name in sorted(os.listdir(source)):
                tar.add(source / name, arcname=name)
        else:
            base = posixpath.basename(posixpath.normpath(src_container)) or "root"
            tar.add(source, arcname=base)


def stream_in(container: Container, archive: BinaryIO, dest_path: str, scratch_root: Path) -> None:
    """``docker cp - CONTAINER:DEST``: the tar on ``archive`` unpacked into the existing
    directory ``DEST``. Unpacked in full, filtered, into a scratch directory first: an archive
    that is refused (or not a tar at all) leaves the container as it was."""
    if not hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
        raise UsageError("cp -: this Python has no safe tar extraction filter (3.11.4+ needed)")
    fs = ContainerFS(container)
    dest = _container_path(dest_path)
    if not fs.resolve(dest).is_dir():
        raise CopyError(f'destination "{container.name}:{dest_path}" must be a directory')
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cp-", dir=scratch_root) as scratch:
        try:
            with tarfile.open(fileobj=archive, mode="r|*") as tar:
                tar.extractall(scratch, filter="data")
        except tarfile.FilterError as exc:
            raise CopyError(f"refused archive entry: {exc}") from None
        except (tarfile.TarError, EOFError) as exc:
            raise CopyError(f"cannot read the archive on stdin: {exc}") from None
        for name in sorted(os.listdir(scratch)):
            _write(fs, Path(scratch) / name, posixpath.join(dest, name))


def _cp(args: argparse.Namespace) -> int:
    elsewhere = elsewhere_on_docker(args, "cp", f"docker cp {args.src} {args.dest}")
    if elsewhere is not None:
        return elsewhere
    src, dest = parse_endpoint(args.src), parse_endpoint(args.dest)
    if args.src == "-" and args.dest == "-":
        raise UsageError("cp: one end must be a container path, not both '-'")
    if src.container is not None and dest.container is not None:
        raise UsageError("copying between containers is not supported")
    if src.container is None and dest.container is None:
        raise UsageError("must specify at least one container source")
    try:
        done = _copy(state_root(args), src, dest)
    except ReadOnlyFileSystemError:
        print("Error response from daemon: mounted volume is marked read-only", file=sys.stderr)
        return 1
    except (NoSuchContainerError, CopyError, PathEscapeError) as exc:
        print(error_line(exc), file=sys.stderr)
        return 1
    except LocalPathError as exc:
        print(exc, file=sys.stderr)
        return 1
    if done:
        print(done, file=sys.stderr)
    return 0


def _copy(root: Path, src: Endpoint, dest: Endpoint) -> str | None:
    """The copy, and Docker's ``Successfully copied`` line for it; none for the ``-`` forms
    (stdout may be the archive)."""
    name = src.container or dest.container
    assert name is not None
    container = ContainerStore(root).get(name)
    if dest.path == "-" and dest.container is None:
        stream_out(container, src.path, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return None
    if src.path == "-" and src.container is None:
        stream_in(container, sys.stdin.buffer, dest.path, root / "tmp")
        return None
    if dest.container is not None:
        size = copy_into(container, src.path, dest.path)
        return f"Successfully copied {human_size(size)} to {dest.container}:{dest.path}"
    size = copy_out(container, src.path, dest.path)
    return f"Successfully copied {human_size(size)} to {dest.path}"


def register(subparsers: argparse._SubParsersAction) -> None:
    cp = subparsers.add_parser(
        "cp",
        help="copy files between a container and the local filesystem (docker cp)",
        description="lbdemo cp SRC_PATH CONTAINER:DEST_PATH, or lbdemo cp CONTAINER:SRC_PATH "
        "DEST_PATH. Container paths resolve through the container's mounts, else its layer. "
        "SRC_PATH '-' reads a tar archive from stdin (unpacked into the directory DEST_PATH); "
        "DEST_PATH '-' writes one to stdout.",
    )
    cp.add_argument("src", metavar="SRC")
    cp.add_argument("dest", metavar="DEST")
    add_state_argument(cp)
    add_runtime_arguments(cp)
    cp.set_defaults(func=_cp)
