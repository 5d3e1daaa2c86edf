"""``lbdemo volume create|ls|inspect|rm|prune``: Docker's volume commands on the state root.

Errors Docker's engine would return print as ``Error response from daemon: ...`` and exit 1;
malformed flags (a filter without ``=``) are usage errors (exit 2, via :mod:`lbdemo.cli`).
"""

from __future__ import annotations

import argparse
import sys

from lbdemo.commands.backend import (
    add_runtime_arguments,
    backend_for,
    each,
    elsewhere_on_docker,
)
from lbdemo.config import add_state_argument, state_root
from lbdemo.containers.display import (
    VOLUME_HEADER,
    error_line,
    human_size,
    print_volume_inspect,
    table,
)
from lbdemo.containers.errors import DaemonError
from lbdemo.containers.format import format_items
from lbdemo.containers.volumes import VolumeStore
from lbdemo.errors import LbdemoError, UsageError

PRUNE_WARNING_ANONYMOUS = (
    "WARNING! This will remove anonymous local volumes not used by at least one container."
)
PRUNE_WARNING_ALL = (
    "WARNING! This will remove all local volumes not used by at least one container."
)


def _fail(exc: LbdemoError) -> int:
    """Print an engine-side error Docker's way and return its status; re-raise usage errors."""
    if isinstance(exc, UsageError) and not isinstance(exc, DaemonError):
        raise exc
    print(error_line(exc), file=sys.stderr)
    return 1


def parse_labels(specs: list[str] | None) -> dict[str, str]:
    """``--label k=v`` (or bare ``k``, an empty value) into a dict, as Docker reads them."""
    labels: dict[str, str] = {}
    for spec in specs or []:
        key, _, value = spec.partition("=")
        if not key:
            raise UsageError(f'invalid argument "{spec}" for "--label" flag: empty label key')
        labels[key] = value
    return labels


def _create(args: argparse.Namespace) -> int:
    elsewhere = elsewhere_on_docker(
        args,
        "volume create",
        " ".join(["docker volume create", *([args.name] if args.name else [])]),
    )
    if elsewhere is not None:
        return elsewhere
    store = VolumeStore(state_root(args))
    try:
        volume = store.create(
            args.name or None, labels=parse_labels(args.label), options={}, driver=args.driver
        )
    except LbdemoError as exc:
        return _fail(exc)
    print(volume.name)
    return 0


def _ls(args: argparse.Namespace) -> int:
    fmt, filters, backend = args.format, args.filter or [], backend_for(args)
    backend.check_volume_ls(fmt, filters)
    try:
        volumes = backend.volumes(filters)
    except LbdemoError as exc:
        return _fail(exc)
    if args.quiet:
        for volume in volumes:
            print(volume.name)
    elif fmt == "json":
        for volume in volumes:
            print(volume.ls_json())
    elif fmt not in (None, "", "table"):
        text = format_items(fmt, [v.context() for v in volumes], VOLUME_HEADER)
        if text:
            print(text)
    else:
        print(table(["DRIVER", "VOLUME NAME"], [[v.driver, v.name] for v in volumes]))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    return print_volume_inspect(args.format, args.names, backend_for(args).volume_inspect)


def _rm(args: argparse.Namespace) -> int:
    backend = backend_for(args)
    return each(args.names, lambda name: backend.remove_volume(name, force=args.force))


def confirm(prompt: str) -> bool:
    """Ask ``[y/N]`` on stdout; end of input (no stdin) counts as No."""
    print(f"{prompt}\nAre you sure you want to continue? [y/N] ", end="", flush=True)
    try:
        answer = sys.stdin.readline() if sys.stdin else ""
    except (OSError, ValueError):
        answer = ""
    if not answer.endswith("\n"):
        print()
    return answer.strip().lower() in ("y", "yes")


def _prune(args: argparse.Namespace) -> int:
    elsewhere = elsewhere_on_docker(args, "volume prune", "docker volume prune")
    if elsewhere is not None:
        return elsewhere
    store = VolumeStore(state_root(args))
    if not args.force and not confirm(PRUNE_WARNING_ALL if args.all else PRUNE_WARNING_ANONYMOUS):
        print("Total reclaimed space: 0B")
        return 0
    try:
        result = store.prune(all=args.all, filters=args.filter or [])
    except LbdemoError as exc:
        return _fail(exc)
    if result.deleted:
        print("Deleted Volumes:")
        for name in result.deleted:
            print(name)
        print()
    print(f"Total reclaimed space: {human_size(result.reclaimed_bytes)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    volume = subparsers.add_parser(
        "volume", help="manage volumes (docker volume ...)", description="Manage volumes"
    )
    commands = volume.add_subparsers(dest="volume_command", metavar="COMMAND")
    volume.set_defaults(func=lambda _args: (volume.print_help(), 2)[1])

    create = commands.add_parser("create", help="create a volume")
    create.add_argument("name", nargs="?", metavar="VOLUME", help="name (default: anonymous)")
    create.add_argument("-d", "--driver", default="local", help="volume driver (only 'local')")
    create.add_argument(
        "--label", action="append", metavar="KEY=VALUE", help="set metadata (repeatable)"
    )
    add_state_argument(create)
    add_runtime_arguments(create)
    create.set_defaults(func=_create)

    ls = commands.add_parser("ls", aliases=["list"], help="list volumes")
    ls.add_argument("-q", "--quiet", action="store_true", help="only display volume names")
    ls.add_argument(
        "-f",
        "--filter",
        action="append",
        metavar="FILTER",
        help="dangling=true|false, driver=local, label=KEY[=VALUE], name=PART (repeatable)",
    )
    ls.add_argument(
        "--format", default=None, help="'table' (default), 'json' or a Go template ({{.Name}})"
    )
    add_state_argument(ls)
    add_runtime_arguments(ls)
    ls.set_defaults(func=_ls)

    inspect = commands.add_parser("inspect", help="display detailed information on volumes")
    inspect.add_argument("names", nargs="+", metavar="VOLUME")
    inspect.add_argument("-f", "--format", help="a Go template, e.g. '{{.Mountpoint}}'")
    add_state_argument(inspect)
    add_runtime_arguments(inspect)
    inspect.set_defaults(func=_inspect)

    rm = commands.add_parser("rm", aliases=["remove"], help="remove volumes not in use")
    rm.add_argument("names", nargs="+", metavar="VOLUME")
    rm.add_argument(
        "-f", "--force", action="store_true", help="no error for missing volumes (in use still is)"
    )
    add_state_argument(rm)
    add_runtime_arguments(rm)
    rm.set_defaults(func=_rm)

    prune = commands.add_parser("prune", help="remove unused volumes")
    prune.add_argument(
        "-a", "--all", action="store_true", help="remove all unused volumes, not just anonymous"
    )
    prune.add_argument("-f", "--force", action="store_true", help="do not prompt")
    prune.add_argument(
        "--filter", action="append", metavar="FILTER", help="label=KEY[=VALUE], label!=KEY[=VALUE]"
    )
    add_state_argument(prune)
    add_runtime_arguments(prune)
    prune.set_defaults(func=_prune)
