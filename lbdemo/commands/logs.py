"""``lbdemo logs [-f] [--tail N] CONTAINER``: a container's output, as ``docker logs`` shows it.

A container's stdout and stderr go to ``<state>/containers/<id>/container.log`` (beside its
record, like the json-file driver's log), so the output of an exited container can still be
read, and it goes with ``lbdemo rm``. ``-f`` follows the output until the container stops
(Docker's ``logs -f`` ends then too) or Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lbdemo.config import add_state_argument, state_root
from lbdemo.containers.containers import ContainerStore
from lbdemo.containers.display import error_line
from lbdemo.containers.errors import NoSuchContainerError
from lbdemo.docker import commands as docker_commands
from lbdemo.errors import UsageError

POLL_S = 0.2


def parse_tail(text: str) -> int | None:
    """``--tail``: a line count, or ``all`` (None); Docker takes a negative number as all."""
    if text == "all":
        return None
    try:
        count = int(text)
    except ValueError:
        raise UsageError(f'invalid value for "tail": {text!r} (a count, or all)') from None
    return None if count < 0 else count


def tail_lines(data: bytes, count: int | None) -> bytes:
    if count is None:
        return data
    if count == 0:
        return b""
    lines = data.splitlines(keepends=True)
    return b"".join(lines[-count:])


def _write(data: bytes) -> None:
    sys.stdout.write(data.decode("utf-8", errors="replace"))
    sys.stdout.flush()


def follow(path: Path, position: int, keep_going: Callable[[], bool]) -> int:
    """Copy what is appended to ``path`` from ``position`` on to stdout while ``keep_going()``;
    returns the position reached. One last read after it stops, so the final lines show."""
    while True:
        going = keep_going()
        try:
            with path.open("rb") as f:
                f.seek(position)
                chunk = f.read()
        except OSError:
            chunk = b""
        if chunk:
            position += len(chunk)
            _write(chunk)
        if not going:
            return position
        time.sleep(POLL_S)


def _logs(args: argparse.Namespace) -> int:
    if docker_commands.wants_docker(args):
        return docker_commands.logs(args, parse_tail(args.tail), _write)
    store = ContainerStore(state_root(args))
    try:
        container = store.get(args.container)
    except NoSuchContainerError as exc:
        print(error_line(exc), file=sys.stderr)
        return 1
    count = parse_tail(args.tail)
    try:
        data = container.log_path.read_bytes()
    except FileNotFoundError:
        data = b""  # created, never started: no output yet
    _write(tail_lines(data, count))
    if not args.follow:
        return 0

    def running() -> bool:
        try:
            return store.get(container.id).running
        except NoSuchContainerError:
            return False

    try:
        follow(container.log_path, len(data), running)
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
    docker_commands.add_runtime_arguments(logs)
    logs.set_defaults(func=_logs)
