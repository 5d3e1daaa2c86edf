"""The container commands with ``--runtime docker``: ``ps``, ``kill``, ``rm``, ``logs`` and
``volume ls|inspect|rm`` through the Engine API, printed as the local runtime prints them
(Docker's columns, Docker's error lines: ``Error response from daemon: ...``, exit 1).

``ps`` lists the containers of one project (``--project``, default ``lbdemo``); the others act on
whatever the engine calls by the name or id given, as ``docker`` does. A replica killed here
while ``lbdemo up --runtime docker`` runs is seen dying by that stack's supervisor, which applies
its restart policy (docs/lessons.md, lesson 9).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lbdemo.containers.containers import parse_time
from lbdemo.containers.display import (
    created_text,
    ellipsis,
    human_duration,
    print_volume_inspect,
    table,
)
from lbdemo.deploy.names import PROJECT, RUNTIMES, Project
from lbdemo.deploy.signals import parse_signal
from lbdemo.docker.containers import engine_says
from lbdemo.errors import UsageError

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

PS_HEADER = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="local",
        help="local (default: lbdemo's own containers) or docker (the Docker Engine's)",
    )
    parser.add_argument(
        "--project",
        default=PROJECT,
        metavar="NAME",
        help=f"with --runtime docker: the stack's Docker project (default {PROJECT})",
    )


def wants_docker(args: argparse.Namespace) -> bool:
    """Whether to act on the Docker Engine; ``--project`` alone is refused (it names nothing
    on the local runtime)."""
    if args.runtime == "docker":
        return True
    if args.project != PROJECT:
        raise UsageError("--project names a Docker project: it goes with --runtime docker")
    return False


def _client() -> docker.DockerClient:
    from lbdemo.docker.engine import connect

    return connect()


def _daemon_error(exc: BaseException) -> int:
    print(f"Error response from daemon: {engine_says(exc)}", file=sys.stderr)
    return 1


# -- containers -------------------------------------------------------------------------------


def ps(args: argparse.Namespace) -> int:
    if args.format not in (None, "", "table"):
        raise UsageError("--format with --runtime docker: use the table, or docker ps --format")
    project = Project(args.project)
    containers = project.containers(_client(), all=args.all)
    if args.quiet:
        for c in containers:
            print(c.id if args.no_trunc else c.short_id)
        return 0
    now = datetime.now(UTC)
    rows = []
    for c in containers:
        config = c.attrs["Config"]
        command = " ".join([*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])])
        rows.append(
            [
                c.id if args.no_trunc else c.short_id,
                (config.get("Image") or "")
                if args.no_trunc
                else ellipsis(config.get("Image", ""), 40),
                f'"{command if args.no_trunc else ellipsis(command, 20)}"',
                created_text(c.attrs["Created"], now),
                _status(c, now),
                _ports(c),
                c.name,
            ]
        )
    print(table(PS_HEADER, rows))
    return 0


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


def kill(args: argparse.Namespace) -> int:
    signal_name = parse_signal(args.signal).name  # refused here, before the engine is asked
    client, status = _client(), 0
    for ref in args.names:
        try:
            client.containers.get(ref).kill(signal=signal_name)
        except Exception as exc:
            status = _daemon_error(exc)
            continue
        print(ref)
    return status


def rm(args: argparse.Namespace) -> int:
    import docker

    client, status = _client(), 0
    for ref in args.names:
        try:
            client.containers.get(ref).remove(force=args.force, v=args.volumes)
        except docker.errors.NotFound as exc:
            if not args.force:  # docker rm -f: a container that is already gone is no error
                status = _daemon_error(exc)
            continue
        except docker.errors.APIError as exc:
            status = _daemon_error(exc)
            continue
        print(ref)
    return status


def logs(args: argparse.Namespace, tail: int | None, write: Callable[[bytes], None]) -> int:
    import docker

    try:
        container = _client().containers.get(args.container)
    except docker.errors.NotFound as exc:
        return _daemon_error(exc)
    kwargs: dict[str, Any] = {"tail": "all" if tail is None else tail}
    if not args.follow:
        write(container.logs(**kwargs))
        return 0
    try:
        for chunk in container.logs(stream=True, follow=True, **kwargs):
            write(chunk)
    except KeyboardInterrupt:
        pass
    return 0


# -- volumes ----------------------------------------------------------------------------------


def volume_ls(args: argparse.Namespace) -> int:
    if args.format not in (None, "", "table") or args.filter:
        raise UsageError("--format and --filter with --runtime docker: use docker volume ls")
    volumes = sorted(_client().volumes.list(), key=lambda v: v.name)
    if args.quiet:
        for volume in volumes:
            print(volume.name)
    else:
        rows = [[v.attrs.get("Driver", "local"), v.name] for v in volumes]
        print(table(["DRIVER", "VOLUME NAME"], rows))
    return 0


def volume_inspect(args: argparse.Namespace) -> int:
    import docker

    client = _client()

    def find(name: str) -> dict[str, Any] | None:
        try:
            return dict(client.api.inspect_volume(name))
        except docker.errors.NotFound:
            return None

    return print_volume_inspect(args.format, args.names, find)


def volume_rm(args: argparse.Namespace) -> int:
    """The engine decides: a volume a container uses is refused, in the engine's words."""
    import docker

    client, status = _client(), 0
    for name in args.names:
        try:
            client.api.remove_volume(name, force=args.force)
        except docker.errors.APIError as exc:
            status = _daemon_error(exc)
            continue
        print(name)
    return status
