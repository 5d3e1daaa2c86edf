"""``lbdemo check``: judge a report (or a raw history) against an expectation.

    lbdemo check REPORT.json --expect consistent|inconsistent
    lbdemo check --history H.jsonl [H2.jsonl ...] [--audit AUDIT.json] [--expect ...]
                 [--json REPORT.json] [--markdown REPORT.md]

Exit status: 0 when the expectation holds (or none was given), 1 when it does not (one line
says why), 2 on bad input (missing file, not a report, malformed history).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from lbdemo.checker import CONSISTENT, INCONSISTENT, check, load_audit
from lbdemo.errors import UsageError
from lbdemo.history import read_history
from lbdemo.report import (
    build_report,
    load_report,
    render_markdown,
    verdict_reason,
    write_json,
    write_text,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check a report or a history for consistency",
        description="Judge a report against --expect, or check a raw history and print its "
        "report. Exit 0: as expected; 1: not as expected; 2: bad input.",
    )
    parser.add_argument("report", nargs="?", help="a report JSON written by a run")
    parser.add_argument("--history", nargs="+", metavar="H.jsonl",
                        help="check these history files instead of reading a report")
    parser.add_argument("--audit", metavar="AUDIT.json",
                        help="the final audit of the replicas (with --history)")
    parser.add_argument("--expect", choices=[CONSISTENT, INCONSISTENT],
                        help="the verdict the run should have")
    parser.add_argument("--json", dest="json_out", metavar="FILE",
                        help="write the report JSON here (with --history)")
    parser.add_argument("--markdown", dest="md_out", metavar="FILE",
                        help="write the Markdown report here (with --history)")
    parser.set_defaults(func=run)


def _report_from_history(args: argparse.Namespace) -> dict[str, Any]:
    history = read_history(args.history)
    audit = load_audit(args.audit) if args.audit else None
    result = check(history, audit)
    meta = {"command": shlex.join(["lbdemo", *sys.argv[1:]]), "histories": args.history}
    return build_report(result, history, audit, meta)


def run(args: argparse.Namespace) -> int:
    if (args.report is None) == (args.history is None):
        raise UsageError("give either a REPORT.json or --history H.jsonl, not both or neither")
    if args.report is not None:
        for flag, value in (("--audit", args.audit), ("--json", args.json_out),
                            ("--markdown", args.md_out)):
            if value:
                raise UsageError(f"{flag} only applies to --history")
        report = load_report(args.report)
        if args.expect is None:
            print(render_markdown(report))
    else:
        report = _report_from_history(args)
        markdown = render_markdown(report)
        if args.json_out:
            write_json(args.json_out, report)
        if args.md_out:
            write_text(args.md_out, markdown)
        print(markdown)
    if args.expect is None:
        return 0
    reason = verdict_reason(report)
    if report["verdict"] == args.expect:
        print(f"as expected: {report['verdict']} ({reason})")
        return 0
    print(f"expected {args.expect}, but the run is {report['verdict']} ({reason})")
    return 1
