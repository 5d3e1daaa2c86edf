"""``lbdemo compare A.json B.json [--out FILE]``: two run reports side by side.

The table is always printed; ``--out`` also writes it (Markdown) to FILE.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lbdemo.report import compare, load_report, write_text


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare two run reports side by side",
        description="Print a table of two reports' metrics (A, B, B − A); --out also writes it.",
    )
    parser.add_argument("a", metavar="A.json", help="the first report (column A)")
    parser.add_argument("b", metavar="B.json", help="the second report (column B)")
    parser.add_argument("--out", metavar="FILE", help="also write the table to FILE")
    parser.set_defaults(func=run)


def _label(path: str, report: dict[str, Any]) -> str:
    run = report.get("run") or {}
    parts = [str(run[k]) for k in ("scenario", "storage") if run.get(k)]
    return " ".join(dict.fromkeys(parts)) or Path(path).stem  # "private", not "private private"


def run(args: argparse.Namespace) -> int:
    a, b = load_report(args.a), load_report(args.b)
    la, lb = _label(args.a, a), _label(args.b, b)
    if la == lb:
        la, lb = f"A: {la}", f"B: {lb}"
    text = compare(a, b, labels=(la, lb)) + "\n"
    if args.out:
        write_text(args.out, f"# {la} vs {lb}\n\n{text}")
    print(text, end="")
    return 0
