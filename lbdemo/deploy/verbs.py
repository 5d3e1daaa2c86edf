"""What the container commands (``ps``, ``kill``, ``stop``, ``start``, ``restart``, ``rm``,
``logs``, ``volume ls|inspect|rm``) ask of a runtime: :class:`Backend`, implemented by the
local runtime (:class:`~lbdemo.runtime.verbs.LocalBackend`) and the Docker runtime
(:class:`~lbdemo.docker.verbs.DockerBackend`). The CLI chooses one once
(:mod:`lbdemo.commands.backend`) and prints what it answers with one printer per command.

A backend answers in data; the one thing it words itself is a refusal, since each runtime words
its own as Docker does (``Error response from daemon: ...``, ``Error: No such container: x``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from lbdemo.containers.format import Context


class Refused(Exception):
    """The runtime refused one object: ``str()`` is the whole error line (status 1; the command
    goes on with the next name)."""


class Unreachable(Exception):
    """The runtime cannot be reached at all: ``str()`` is the line (status 1; the command stops)."""


class ContainerView(Protocol):
    """One container as ``ps`` shows it."""

    @property
    def id(self) -> str: ...

    @property
    def short_id(self) -> str: ...

    def ps_row(self, now: datetime, no_trunc: bool) -> list[str]:
        """The table row: ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES."""
        ...

    def ps_context(self, now: datetime, trunc: bool) -> Context:
        """What ``--format`` templates read."""
        ...


class VolumeView(Protocol):
    """One volume as ``volume ls`` shows it."""

    @property
    def name(self) -> str: ...

    @property
    def driver(self) -> str: ...

    def ls_json(self) -> str: ...

    def context(self) -> Context: ...


class Backend(Protocol):
    def check_ps_format(self, fmt: str | None) -> None:
        """Refuse (UsageError) a ``ps --format`` this runtime cannot print, before reading."""
        ...

    def containers(self, *, all: bool) -> Sequence[ContainerView]: ...

    def check_signal(self, text: str) -> None:
        """Refuse (UsageError) a ``kill -s`` signal before any container is touched."""
        ...

    def kill(self, ref: str, signal: str) -> None: ...

    def stop(self, ref: str, timeout_s: float) -> None:
        """``stop``: out of the balancer's rotation once drained, then SIGTERM (SIGKILL after
        ``timeout_s``); the stack's restart policy does not apply to it."""
        ...

    def start(self, ref: str) -> None:
        """``start``: a stopped container again; a replica joins the rotation once healthy."""
        ...

    def restart(self, ref: str) -> None: ...

    def upgrade(self, image: str, begin: Callable[[], None]) -> list[dict[str, Any]]:
        """A rolling upgrade of the stack's replicas to ``image``, one at a time: each new one
        in the rotation before the old one is drained out (``begin`` called once the runtime
        was reached and the upgrade starts); one dict per step (``old``,
        ``old_id``, ``old_image``, ``new``, ``new_id``, ``new_image``)."""
        ...

    def remove(self, ref: str, *, force: bool, volumes: bool) -> bool:
        """``rm``: True once removed; False for one already gone with ``force``."""
        ...

    def logs(
        self, ref: str, tail: int | None, follow_output: bool, write: Callable[[bytes], None]
    ) -> None: ...

    def check_volume_ls(self, fmt: str | None, filters: Sequence[str]) -> None: ...

    def volumes(self, filters: Sequence[str]) -> Sequence[VolumeView]: ...

    def volume_inspect(self, name: str) -> dict[str, Any] | None: ...

    def remove_volume(self, name: str, *, force: bool) -> None: ...
