"""``lbdemo logs [-f] [--tail N] CONTAINER``: a container's output, as ``docker logs`` shows it.

On the local runtime a container's stdout and stderr go to
``<state>/containers/<id>/container.log`` (beside its record, like the json-file driver's log,
:mod:`lbdemo.containers.logs`), so the output of an exited container can still be read, and it
goes with ``lbdemo rm``; with ``--runtime docker`` the engine keeps them. ``-f`` follows the
output until the container stops (Docker's ``logs -f`` ends then too) or Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys

from lbdemo.commands.backend import add_runtime_arguments, backend_for
from lbdemo.config import add_state_argument
from lbdemo.deploy.verbs import Refused
from lbdemo.errors import UsageError


def parse_tail(text: str) -> int | None:
    """``--tail``: a line count, or ``all`` (None); Docker takes a negative number as all."""
    if text == "all":
        return None
    try:
        count = int(text)
    except ValueError:
        raise UsageError(f'invalid value for "tail": {text!r} (a count, or all)') from None
    return None if count < 0 else count


def write_output(data: bytes) -> None:
    sys.stdout.write(data.decode("utf-8", errors="replace"))
    sys.stdout.flush()


def _logs(args: argparse.Namespace) -> int:
    backend = backend_for(args)
    tail = parse_tail(args.tail)
    try:
        backend.logs(args.container, tail, args.follow, write_output)
    except Refused as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    logs = subparsers.add_parser("logs", help="fetch the output of a container (docker logs)")
    logs.add_argument("-f", "--follow", action="store_true", help="follow log output")
    logs.add_argument(
        "-n", "--tail", default="all", help='number of lines to show from the end (default "all")'
    )
    logs.add_argument("container", metavar="CONTAINER")
    add_state_argument(logs)
    add_runtime_arguments(logs)
    logs.set_defaults(func=_logs)
