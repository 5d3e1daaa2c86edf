"""Command-line options: the parser every lbdemo command line uses (one line on a usage error,
never a traceback) and the options every server process has.

Here rather than in :mod:`lbdemo.cli` so that the server processes, which sit below the CLI,
reach it without reaching up.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from lbdemo.errors import UsageError
from lbdemo.process.address import parse_hostport

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def hostport_argument(spec: str) -> tuple[str, int]:
    """:func:`parse_hostport` as an argparse ``type``: its message becomes the usage error."""
    try:
        return parse_hostport(spec)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level


def server_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser with the options every server has; the caller adds its own."""
    parser = OneLineParser(prog=prog, description=description)
    parser.add_argument(
        "--listen",
        default="127.0.0.1:0",
        type=hostport_argument,
        metavar="HOST:PORT",
        help="where to listen (default 127.0.0.1:0, port 0: any free port)",
    )
    parser.add_argument("--no-uvloop", action="store_true", help="use asyncio's own event loop")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        type=_log_level,
        metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS)} (default WARNING), to stderr",
    )
    return parser
