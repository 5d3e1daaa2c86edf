"""Errors of the container model, carrying Docker's own wording.

Docker's CLI prints errors that come back from the engine as ``Error response from daemon:
<text>`` and exits 1. The ones here mark that origin with :class:`DaemonError`, so a command can
print them the same way; each also sits in lbdemo's tree (:mod:`lbdemo.errors`) so code that
does not care about Docker's framing (the supervisor, the CLI's fallback) handles them as usual.

    DaemonError (mixin)
    ├── InvalidNameError      UsageError   bad volume/container name, bad mount spec
    ├── InvalidFilterError    UsageError   ``invalid filter 'x'``
    ├── NoSuchVolumeError     StateError   ``get NAME: no such volume``
    ├── VolumeInUseError      StateError   ``remove NAME: volume is in use - [id id]``
    ├── NoSuchContainerError  StateError   ``No such container: NAME``
    ├── NameConflictError     StateError   ``Conflict. The container name "/x" is already...``
    ├── ContainerRunningError StateError   ``You cannot remove a running container ...``
    └── UnknownDriverError    StateError   ``... error looking up volume plugin x ...``
    NoSuchImageError          StateError   ``Unable to find image 'x:y' locally`` (the CLI's own)
    ReadOnlyFileSystemError   StateError + OSError(EROFS)  a write through a ``ro`` mount
    PathEscapeError           StateError   a container path that leaves its mount or layer
"""

from __future__ import annotations

import errno

from lbdemo.errors import StateError, UsageError


class DaemonError(Exception):
    """Mixin: Docker would report this as ``Error response from daemon: <str(exc)>``."""


class InvalidNameError(UsageError, DaemonError):
    """A volume name, container name or mount spec Docker's engine would refuse."""


class InvalidFilterError(UsageError, DaemonError):
    """A ``--filter`` key or value the engine does not know."""


class NoSuchVolumeError(StateError, DaemonError):
    def __init__(self, name: str) -> None:
        super().__init__(f"get {name}: no such volume")
        self.name = name


class VolumeInUseError(StateError, DaemonError):
    def __init__(self, name: str, container_ids: list[str]) -> None:
        super().__init__(f"remove {name}: volume is in use - [{' '.join(container_ids)}]")
        self.name = name
        self.container_ids = container_ids


class NoSuchContainerError(StateError, DaemonError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"No such container: {ref}")
        self.ref = ref


class NameConflictError(StateError, DaemonError):
    def __init__(self, name: str, container_id: str) -> None:
        super().__init__(
            f'Conflict. The container name "/{name}" is already in use by container '
            f'"{container_id}". You have to remove (or rename) that container to be able to '
            "reuse that name."
        )


class ContainerRunningError(StateError, DaemonError):
    def __init__(self, container_id: str) -> None:
        super().__init__(
            f"You cannot remove a running container {container_id}. Stop the container before "
            "attempting removal or force remove"
        )


class NoSuchImageError(StateError):
    def __init__(self, reference: str) -> None:
        super().__init__(f"Unable to find image '{reference}' locally")
        self.reference = reference


class UnknownDriverError(StateError, DaemonError):
    """Only Docker's ``local`` volume driver exists here."""


class ReadOnlyFileSystemError(StateError, OSError):
    """A write through a read-only mount; ``errno`` is EROFS, as the kernel would report."""

    def __init__(self, container_path: str) -> None:
        OSError.__init__(self, errno.EROFS, "Read-only file system", container_path)

    def __str__(self) -> str:
        return f"{self.filename}: Read-only file system"


class PathEscapeError(StateError):
    """A container path whose host resolution would leave its mount source or layer."""
