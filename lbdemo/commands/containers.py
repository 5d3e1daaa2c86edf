"""``lbdemo ps | inspect | rm | images | create``: Docker's container commands that need no daemon.

They read and change the records in the state root only; starting and stopping processes is
the supervisor's (``lbdemo up/run/stop``). Errors print as Docker prints them: engine errors as
``Error response from daemon: ...`` (exit 1; ``create`` exits 125 like ``docker create``),
``Error: No such object: x`` for ``inspect``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lbdemo.commands.backend import (
    add_runtime_arguments,
    backend_for,
    each,
    elsewhere_on_docker,
    resolve_runtime,
)
from lbdemo.commands.volume import parse_labels
from lbdemo.config import add_state_argument, state_root
from lbdemo.containers.containers import ContainerStore
from lbdemo.containers.display import (
    IMAGE_HEADER,
    PS_HEADER,
    created_text,
    error_line,
    image_context,
    json_array,
    table,
)
from lbdemo.containers.errors import DaemonError, NoSuchContainerError, NoSuchImageError
from lbdemo.containers.format import (
    Context,
    TemplateError,
    compile_format,
    format_items,
    go_json,
    render_inspect,
)
from lbdemo.containers.images import find_image, image_rows
from lbdemo.containers.mounts import Mount, parse_mount_spec, parse_volume_spec
from lbdemo.containers.volumes import VolumeStore
from lbdemo.deploy.verbs import Refused
from lbdemo.docker.verbs import DockerBackend
from lbdemo.errors import LbdemoError, StateError, UsageError

# ``docker create``/``docker run`` exit 125 when the engine refuses.
CREATE_FAILED = 125


def print_formatted(fmt: str, contexts: list[Context], header: Context) -> None:
    """``--format json`` (one object per line) or a Go template; nothing for no items."""
    if fmt == "json":
        for context in contexts:
            print(go_json(context))
        return
    text = format_items(fmt, contexts, header)
    if text:
        print(text)


def _ps(args: argparse.Namespace) -> int:
    fmt, backend = args.format, backend_for(args)
    backend.check_ps_format(fmt)
    containers = backend.containers(all=args.all)
    if args.quiet:
        for c in containers:
            print(c.id if args.no_trunc else c.short_id)
        return 0
    now = datetime.now(UTC)
    if fmt not in (None, "", "table"):
        contexts = [c.ps_context(now, trunc=not args.no_trunc) for c in containers]
        print_formatted(fmt, contexts, PS_HEADER)
        return 0
    rows = [c.ps_row(now, args.no_trunc) for c in containers]
    header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    print(table(header, rows))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    if args.format not in (None, "", "json"):
        try:
            template = compile_format(args.format)
        except TemplateError as exc:
            raise TemplateError(f"template parsing error: {exc}") from None
    if resolve_runtime(args) == "docker":
        return _inspect_on_docker(args, template if args.format not in (None, "", "json") else None)
    root = state_root(args)
    containers, volumes = ContainerStore(root), VolumeStore(root)
    found, status = [], 0
    for ref in args.names:
        try:
            found.append(containers.inspect(ref))
            continue
        except NoSuchContainerError:
            pass
        except StateError as exc:
            print(error_line(exc), file=sys.stderr)
            status = 1
            continue
        try:
            image = find_image(ref)
            found.append({"Id": image.id, "RepoTags": [image.reference], **image.manifest()})
            continue
        except (NoSuchImageError, UsageError):
            pass
        if volumes.exists(ref):
            found.append(volumes.get(ref).inspect())
            continue
        print(f"Error: No such object: {ref}", file=sys.stderr)
        status = 1
    if args.format in (None, "", "json"):
        print(json_array(found))
        return status
    for obj in found:
        # Docker adds a newline after each object's output, as the template printed it.
        print(render_inspect(template, obj))
    return status


def _inspect_on_docker(args: argparse.Namespace, template: Any) -> int:
    """``inspect`` on the engine: its own JSON for a container, an image or a volume."""
    backend = DockerBackend(args.project)
    found, status = [], 0
    for ref in args.names:
        try:
            obj = backend.inspect(ref)
        except Refused as exc:
            print(exc, file=sys.stderr)
            status = 1
            continue
        if obj is None:
            print(f"Error: No such object: {ref}", file=sys.stderr)
            status = 1
            continue
        found.append(obj)
    if template is None:
        print(json_array(found))
        return status
    for obj in found:
        print(render_inspect(template, obj))
    return status


def _rm(args: argparse.Namespace) -> int:
    backend = backend_for(args)
    return each(args.names, lambda ref: backend.remove(ref, force=args.force, volumes=args.volumes))


def _images(args: argparse.Namespace) -> int:
    elsewhere = elsewhere_on_docker(args, "images", "docker images")
    if elsewhere is not None:
        return elsewhere
    fmt = args.format
    if fmt not in (None, "", "table"):
        compile_format(fmt)
    rows = image_rows()
    if args.quiet:
        seen: list[str] = []
        for _repo, _tag, image in rows:
            if image.short_id not in seen:
                seen.append(image.short_id)
                print(image.short_id)
        return 0
    now = datetime.now(UTC)
    if fmt not in (None, "", "table"):
        contexts = [
            image_context(repo, tag, image, now, trunc=not args.no_trunc)
            for repo, tag, image in rows
        ]
        print_formatted(fmt, contexts, IMAGE_HEADER)
        return 0
    body = [
        [repo, tag, image.short_id, created_text(image.created, now), "N/A"]
        for repo, tag, image in rows
    ]
    print(table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], body))
    return 0


def _parse_env(specs: list[str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for spec in specs or []:
        key, sep, value = spec.partition("=")
        if not key:
            raise UsageError(f'invalid argument "{spec}" for "--env" flag: variable name is empty')
        env[key] = value if sep else ""
    return env


def _create(args: argparse.Namespace) -> int:
    cwd = Path.cwd()
    try:
        mounts: list[Mount] = [parse_volume_spec(s, cwd) for s in args.volume or []]
        mounts += [parse_mount_spec(s, cwd) for s in args.mount or []]
        container = ContainerStore(state_root(args)).create(
            args.image,
            name=args.name,
            mounts=mounts,
            labels=parse_labels(args.label),
            env=_parse_env(args.env),
        )
    except LbdemoError as exc:
        if isinstance(exc, UsageError) and not isinstance(exc, DaemonError):
            raise
        line = error_line(exc)
        if isinstance(exc, NoSuchImageError):
            line += " (lbdemo has no registry; `lbdemo images` lists the built-in ones)"
        print(line, file=sys.stderr)
        return CREATE_FAILED
    print(container.id)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    ps = subparsers.add_parser("ps", help="list containers (docker ps)")
    ps.add_argument("-a", "--all", action="store_true", help="show all containers")
    ps.add_argument("-q", "--quiet", action="store_true", help="only display container IDs")
    ps.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    ps.add_argument(
        "--format", help="'table', 'json', or a Go template ({{.ID}} {{.Names}} {{.Status}} ...)"
    )
    add_state_argument(ps)
    add_runtime_arguments(ps)
    ps.set_defaults(func=_ps)

    inspect = subparsers.add_parser(
        "inspect", help="low-level information on containers, images or volumes"
    )
    inspect.add_argument("names", nargs="+", metavar="NAME|ID")
    inspect.add_argument(
        "-f", "--format", help="a Go template, e.g. '{{json .Mounts}}' or '{{.State.Status}}'"
    )
    add_state_argument(inspect)
    add_runtime_arguments(inspect)
    inspect.set_defaults(func=_inspect)

    rm = subparsers.add_parser("rm", help="remove containers and their layers (docker rm)")
    rm.add_argument("names", nargs="+", metavar="CONTAINER")
    rm.add_argument(
        "-f", "--force", action="store_true", help="force the removal of a running container"
    )
    rm.add_argument(
        "-v", "--volumes", action="store_true", help="remove anonymous volumes of the container"
    )
    add_state_argument(rm)
    add_runtime_arguments(rm)
    rm.set_defaults(func=_rm)

    images = subparsers.add_parser("images", help="list the built-in images (docker images)")
    images.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    images.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    images.add_argument("--format", help="'table', 'json', or a Go template ({{.Repository}} ...)")
    add_state_argument(images)
    add_runtime_arguments(images)
    images.set_defaults(func=_images)

    create = subparsers.add_parser(
        "create", help="create a container record, state 'created' (docker create)"
    )
    create.add_argument("--name", help="assign a name to the container")
    create.add_argument(
        "-v", "--volume", action="append", metavar="SPEC", help="bind mount a volume (repeatable)"
    )
    create.add_argument(
        "--mount", action="append", metavar="SPEC", help="attach a filesystem mount (repeatable)"
    )
    create.add_argument("-l", "--label", action="append", metavar="KEY=VALUE")
    create.add_argument("-e", "--env", action="append", metavar="KEY=VALUE")
    create.add_argument("image", metavar="IMAGE")
    add_state_argument(create)
    create.set_defaults(func=_create)
