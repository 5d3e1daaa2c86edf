"""Run the container commands in-process, through the same parser class and error handling
as :mod:`lbdemo.cli`, but with only these commands registered (so the tests do not depend on
every other command module importing cleanly)."""

from __future__ import annotations

import argparse
import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from lbdemo.cli import OneLineParser
from lbdemo.commands import containers, volume
from lbdemo.errors import LbdemoError


@dataclass
class Result:
    status: int
    out: str
    err: str


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="lbdemo")
    subparsers = parser.add_subparsers(dest="command", parser_class=OneLineParser)
    containers.register(subparsers)
    volume.register(subparsers)
    return parser


def lbdemo(*argv: str, stdin: str = "") -> Result:
    """``lbdemo ARGV``: exit status, stdout and stderr, like a subprocess would give them."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                args = build_parser().parse_args(list(argv))
                status = args.func(args)
            except LbdemoError as exc:  # what lbdemo.cli.main does
                print(f"lbdemo: error: {exc}", file=sys.stderr)
                status = 2
            except SystemExit as exc:
                status = int(exc.code or 0)
    finally:
        sys.stdin = old_stdin
    return Result(status, out.getvalue(), err.getvalue())
