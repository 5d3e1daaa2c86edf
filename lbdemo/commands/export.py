"""``lbdemo export --format jepsen|porcupine H.jsonl [H2.jsonl ...] OUT``: an lbdemo history in
another tool's format, so that Knossos (or Jepsen's checkers) or Porcupine can check it.

The formats and what each keeps: ``docs/history-format.md``. OUT is written whole or not at all,
and never over an input; exit 2 on bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from lbdemo.files import write_text
from lbdemo.history import read_history
from lbdemo.interop import jepsen, porcupine
from lbdemo.report.io import refuse_overwriting_inputs

WRITERS = {"jepsen": jepsen.write_edn, "porcupine": porcupine.write_json}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write an lbdemo history in Jepsen's EDN or Porcupine's JSON",
        description="Write an lbdemo history (several files are merged) as a Jepsen/Knossos "
        "history in EDN or as Porcupine operations in JSON (docs/history-format.md).",
    )
    parser.add_argument("--format", required=True, choices=sorted(WRITERS), help="the format")
    parser.add_argument("histories", nargs="+", metavar="H.jsonl", help="lbdemo history files")
    parser.add_argument("out", metavar="OUT", help="the file to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    refuse_overwriting_inputs(args.histories, {"OUT": args.out})
    history = read_history(args.histories)
    write_text(args.out, WRITERS[args.format](history))
    print(f"wrote {len(history.ops):,} operations to {args.out} ({args.format})")
    return 0
