"""The container commands on the Docker runtime (:class:`~lbdemo.deploy.verbs.Backend`): ``ps``,
``kill``, ``rm``, ``logs`` and ``volume ls|inspect|rm`` through the Engine API, answered as the
local runtime answers so that one printer shows both (Docker's columns, Docker's error lines:
``Error response from daemon: ...``, exit 1).

``ps`` lists the containers of one project (``--project``, default ``lbdemo``); the others act on
whatever the engine calls by the name or id given, as ``docker`` does. A replica killed here
while ``lbdemo up --runtime docker`` runs is seen dying by that stack's supervisor, which applies
its restart policy (docs/lessons.md, lesson 9).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lbdemo.containers.containers import parse_time
from lbdemo.containers.display import created_text, ellipsis, human_duration
from lbdemo.containers.format import Context
from lbdemo.deploy.names import Project
from lbdemo.deploy.signals import parse_signal
from lbdemo.deploy.verbs import Refused
from lbdemo.docker.containers import engine_says
from lbdemo.errors import UsageError

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container
    from docker.models.volumes import Volume

PS_FORMAT_REFUSED = "--format with --runtime docker: use the table, or docker ps --format"
VOLUME_LS_REFUSED = "--format and --filter with --runtime docker: use docker volume ls"


def _daemon_error(exc: BaseException) -> Refused:
    return Refused(f"Error response from daemon: {engine_says(exc)}")


@dataclass(frozen=True)
class DockerContainer:
    container: Container

    @property
    def id(self) -> str:
        return str(self.container.id)

    @property
    def short_id(self) -> str:
        return str(self.container.short_id)

    def ps_row(self, now: datetime, no_trunc: bool) -> list[str]:
        c = self.container
        config = c.attrs["Config"]
        command = " ".join([*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])])
        image = config.get("Image") or ""
        return [
            c.id if no_trunc else c.short_id,
            image if no_trunc else ellipsis(config.get("Image", ""), 40),
            f'"{command if no_trunc else ellipsis(command, 20)}"',
            created_text(c.attrs["Created"], now),
            _status(c, now),
            _ports(c),
            c.name,
        ]

    def ps_context(self, now: datetime, trunc: bool) -> Context:
        raise UsageError(PS_FORMAT_REFUSED)


@dataclass(frozen=True)
class DockerVolume:
    volume: Volume

    @property
    def name(self) -> str:
        return str(self.volume.name)

    @property
    def driver(self) -> str:
        return str(self.volume.attrs.get("Driver", "local"))

    def ls_json(self) -> str:
        raise UsageError(VOLUME_LS_REFUSED)

    def context(self) -> Context:
        raise UsageError(VOLUME_LS_REFUSED)


class DockerBackend:
    """The Docker Engine's answers, for one project's ``ps``."""

    def __init__(self, project: str) -> None:
        self.project = Project(project)
        self._client: docker.DockerClient | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            from lbdemo.docker.engine import connect

            self._client = connect()
        return self._client

    # -- containers ------------------------------------------------------------------------

    def check_ps_format(self, fmt: str | None) -> None:
        if fmt not in (None, "", "table"):
            raise UsageError(PS_FORMAT_REFUSED)

    def containers(self, *, all: bool) -> Sequence[DockerContainer]:
        return [DockerContainer(c) for c in self.project.containers(self.client, all=all)]

    def check_signal(self, text: str) -> None:
        parse_signal(text)  # refused here, before the engine is asked

    def kill(self, ref: str, signal: str) -> None:
        name = parse_signal(signal).name
        try:
            self.client.containers.get(ref).kill(signal=name)
        except Exception as exc:
            raise _daemon_error(exc) from None

    def remove(self, ref: str, *, force: bool, volumes: bool) -> bool:
        import docker

        try:
            self.client.containers.get(ref).remove(force=force, v=volumes)
        except docker.errors.NotFound as exc:
            if force:  # docker rm -f: a container that is already gone is no error
                return False
            raise _daemon_error(exc) from None
        except docker.errors.APIError as exc:
            raise _daemon_error(exc) from None
        return True

    def logs(
        self, ref: str, tail: int | None, follow_output: bool, write: Callable[[bytes], None]
    ) -> None:
        import docker

        try:
            container = self.client.containers.get(ref)
        except docker.errors.NotFound as exc:
            raise _daemon_error(exc) from None
        kwargs: dict[str, Any] = {"tail": "all" if tail is None else tail}
        if not follow_output:
            write(container.logs(**kwargs))
            return
        for chunk in container.logs(stream=True, follow=True, **kwargs):
            write(chunk)

    # -- volumes ---------------------------------------------------------------------------

    def check_volume_ls(self, fmt: str | None, filters: Sequence[str]) -> None:
        if fmt not in (None, "", "table") or filters:
            raise UsageError(VOLUME_LS_REFUSED)

    def volumes(self, filters: Sequence[str]) -> Sequence[DockerVolume]:
        return [DockerVolume(v) for v in sorted(self.client.volumes.list(), key=lambda v: v.name)]

    def volume_inspect(self, name: str) -> dict[str, Any] | None:
        import docker

        try:
            return dict(self.client.api.inspect_volume(name))
        except docker.errors.NotFound:
            return None

    def remove_volume(self, name: str, *, force: bool) -> None:
        """The engine decides: a volume a container uses is refused, in the engine's words."""
        import docker

        try:
            self.client.api.remove_volume(name, force=force)
        except docker.errors.APIError as exc:
            raise _daemon_error(exc) from None


def _status(container: Container, now: datetime) -> str:
    """``docker ps``'s STATUS column from the engine's state."""
    state = container.attrs["State"]

    def since(field: str) -> str:
        when = parse_time(state.get(field, ""))
        return human_duration((now - when).total_seconds() if when else 0.0)

    if state.get("Running"):
        return f"Up {since('StartedAt')}"
    if parse_time(state.get("FinishedAt", "")) is not None:
        return f"Exited ({state.get('ExitCode')}) {since('FinishedAt')} ago"
    return "Created"


def _ports(container: Container) -> str:
    """``127.0.0.1:32768->8000/tcp`` for a published port, ``5432/tcp`` for one that is not."""
    shown = []
    for port, bindings in sorted((container.attrs["NetworkSettings"].get("Ports") or {}).items()):
        if bindings:
            shown += [f"{b['HostIp']}:{b['HostPort']}->{port}" for b in bindings]
        else:
            shown.append(port)
    return ", ".join(shown)
