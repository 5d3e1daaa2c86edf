"""The ``lbdemo`` command line: parse, build config objects, call the command; no logic here.

Every subcommand lives in one module of ``lbdemo.commands`` that exposes
``register(subparsers)``; the module's parser sets ``func`` (a callable taking the parsed
namespace and returning an exit status). Modules are discovered, so adding a command is adding
a file.

Errors the user can act on (:class:`lbdemo.errors.LbdemoError`) are printed as one line and exit
with status 2, like a usage error; nothing prints a traceback at the user.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from lbdemo import __version__, commands
from lbdemo.config import claim_stack_lock_early, release_early_claim
from lbdemo.errors import LbdemoError
from lbdemo.files import printable
from lbdemo.process.options import OneLineParser

# The order `lbdemo --help` lists command modules in: the main job first, Docker's verbs after.
HELP_ORDER = (
    "demo",
    "up",
    "get",
    "check",
    "export",
    "compare",
    "lifecycle",
    "containers",
    "volume",
    "bench",
)


def _help_order(module: pkgutil.ModuleInfo) -> tuple[int, str]:
    rank = HELP_ORDER.index(module.name) if module.name in HELP_ORDER else len(HELP_ORDER)
    return rank, module.name


def build_parser(words: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser of every command; with ``words`` naming a command (``check ...``) that a
    module of the same name defines, of that command only: importing every command costs
    about 0.3 s (aiohttp, the balancer...), a noticeable part of a quick ``lbdemo check``."""
    parser = OneLineParser(
        prog="lbdemo",
        description="Round-robin balancer, stateless replicas, private vs shared storage.",
    )
    parser.add_argument("--version", action="version", version=f"lbdemo {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineParser
    )
    modules = sorted(pkgutil.iter_modules(commands.__path__), key=_help_order)
    named = [info for info in modules if words and info.name == words[0]]
    for info in named or modules:
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):  # a helper the commands share (backend.py) has none
            module.register(subparsers)
    if named and words[0] not in subparsers.choices:
        return build_parser()  # that module defines other commands: all of them, then
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # `up` locks its state root first of all, so that a `down` during its start-up finds it.
    claim_stack_lock_early(words)
    try:
        return _main(words)
    finally:
        release_early_claim()


def _main(words: list[str]) -> int:
    parser = build_parser(words)
    args = parser.parse_args(words)
    # The exact command, for the provenance of what the command writes.
    args.argv = words
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        status: int = args.func(args)
    except LbdemoError as exc:
        # An error may quote a history or a report (a client's name, a key): one clean line.
        print(f"lbdemo: error: {printable(str(exc), one_line=True)}", file=sys.stderr)
        return 2
    except OSError as exc:
        # Nearly always a path the user named (--state, --out) that cannot be made or written.
        print(
            f"lbdemo: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
