"""``lbdemo compare A.json B.json [C.json ...] [--out FILE]``: runs side by side, in context.

Prints Markdown: each run's settings, layout, date, command and files, then its results, rates
before counts, with a difference column for exactly two runs. ``--out FILE`` also writes it,
and the runs' charts side by side on the same scales to ``FILE`` with ``.html``. When the runs'
settings differ, one warning line goes to stderr and into the file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lbdemo.errors import UsageError
from lbdemo.files import printable
from lbdemo.report import compare_reports, load_report, settings_warning, write_text
from lbdemo.report.compare import headings
from lbdemo.report.html import render_compare_html
from lbdemo.report.io import refuse_overwriting_inputs
from lbdemo.report.markdown import md_text


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare two or more run reports side by side",
        description="Print the runs' settings and results side by side (a difference column "
        "for two runs); warn when their settings differ; --out also writes the Markdown.",
    )
    parser.add_argument(
        "reports",
        nargs="+",
        metavar="REPORT.json",
        help="two or more reports, one column each, in this order",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="also write the Markdown to FILE, and the charts side by side to FILE with .html",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if len(args.reports) < 2:
        raise UsageError("compare needs two reports or more")
    html = str(Path(args.out).with_suffix(".html")) if args.out else None
    refuse_overwriting_inputs(args.reports, {"--out": args.out, "--out (.html)": html})
    reports = [load_report(path) for path in args.reports]
    text = compare_reports(reports)
    warning = settings_warning(reports)
    if warning:
        print(f"lbdemo: warning: {printable(warning)}", file=sys.stderr)
    if args.out and html:
        title = " vs ".join(map(md_text, headings(reports)))
        write_text(args.out, f"# {title}\n\n{text}")
        write_text(html, render_compare_html(reports))
    print(printable(text), end="")
    return 0
