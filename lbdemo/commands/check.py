"""``lbdemo check``: judge a report (or a raw history) against expectations and limits.

    lbdemo check REPORT.json [--expect consistent|inconsistent] [--max-stale-rate R]
                 [--max-lost-writes N] [--junit FILE]
    lbdemo check --history H.jsonl [H2.jsonl ...] [--audit AUDIT.json] [same options]
    lbdemo check --history FILE --from jepsen|porcupine [same options]
                 [--json REPORT.json] [--markdown REPORT.md] [--html REPORT.html]

Exit status: 0 when every expectation and limit holds (or none was given), 1 when one does not
(one line each says why), 2 on bad input (missing file, not a report, malformed history, a
limit out of range). ``--junit`` also writes the judgements as JUnit XML for CI.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lbdemo.checker import CONSISTENT, INCONSISTENT, Audit, CheckResult, check, load_audit
from lbdemo.errors import UsageError
from lbdemo.files import printable
from lbdemo.history import History
from lbdemo.interop.formats import FROM, load, sniff
from lbdemo.report import (
    Limits,
    build_report,
    judge,
    junit_xml,
    load_report,
    render_markdown,
    write_json,
    write_text,
)
from lbdemo.report.history_page import render_history_html
from lbdemo.report.io import refuse_overwriting_inputs
from lbdemo.report.provenance import run_provenance

if TYPE_CHECKING:
    from lbdemo.history.columns import OpColumns


def rate_limit(text: str) -> float:
    """A ratio from 0 to 1 (``0.01`` is 1 %)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise argparse.ArgumentTypeError(f"must be a ratio from 0 to 1, got {text!r}")
    return value


def count_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check a report or a history for consistency",
        description="Judge a report against --expect and limits, or check a raw history and "
        "print its report. Exit 0: as expected; 1: not as expected; 2: bad input.",
    )
    parser.add_argument("report", nargs="?", help="a report JSON written by a run")
    parser.add_argument(
        "--history",
        nargs="+",
        metavar="H.jsonl",
        help="check these history files instead of reading a report",
    )
    parser.add_argument(
        "--from",
        dest="source",
        choices=FROM,
        help="the --history file is another tool's: a Jepsen/Knossos history (EDN, or a "
        "Jepsen log) or Porcupine's (JSON, or its test logs); without it the format is told "
        "by the content when that is unambiguous (docs/history-format.md)",
    )
    parser.add_argument(
        "--audit", metavar="AUDIT.json", help="the final audit of the replicas (with --history)"
    )
    parser.add_argument(
        "--expect",
        choices=[CONSISTENT, INCONSISTENT],
        help="the verdict the run should have (consistent: no anomaly at all)",
    )
    parser.add_argument(
        "--max-stale-rate",
        type=rate_limit,
        metavar="R",
        help="fail when more than this ratio of reads (0..1) was stale",
    )
    parser.add_argument(
        "--max-lost-writes",
        type=count_limit,
        metavar="N",
        help="fail when more than N acknowledged writes were lost",
    )
    parser.add_argument(
        "--junit",
        metavar="FILE",
        help="write the judgements as JUnit XML (one testcase per anomaly kind)",
    )
    parser.add_argument(
        "--json",
        dest="json_out",
        metavar="FILE",
        help="write the report JSON here (with --history)",
    )
    parser.add_argument(
        "--markdown",
        dest="md_out",
        metavar="FILE",
        help="write the Markdown report here (with --history)",
    )
    parser.add_argument(
        "--html",
        dest="html_out",
        metavar="FILE",
        help="write the HTML report here (with --history); what the history lacks is said on it",
    )
    parser.set_defaults(func=run)


def _report_from_history(
    args: argparse.Namespace,
) -> tuple[dict[str, Any], History | None, CheckResult, Audit | None]:
    """The report of ``--history``, its history (None: read as columns), result and audit."""
    columns = _columns(args)
    history = load(args.history, args.source) if columns is None else None
    audit = load_audit(args.audit) if args.audit else None
    result: CheckResult
    if columns is not None:
        from lbdemo.checker.columnar import check_columns

        result = check_columns(columns, audit)
    else:
        assert history is not None
        result = check(history, audit)
    label = Path(args.history[0]).stem.removesuffix("-history")  # "private-history.jsonl"
    meta = {
        "label": label,
        "histories": args.history,
        "audit": args.audit,
        **run_provenance(args.argv, postgresql=None),
    }
    source = history if history is not None else columns
    assert source is not None
    report = build_report(result, source, audit, meta)
    return report, history, result, audit


def _columns(args: argparse.Namespace) -> OpColumns | None:
    """lbdemo's own history files as columns: a long run's in a fraction of the memory and
    time (docs/checker.md, "Memory and speed"). None when the general path must read them:
    another tool's format, an HTML page wanted (it draws every operation), or anything
    read_columns leaves to read_history."""
    if args.source is not None or args.html_out or any(sniff(p) != "lbdemo" for p in args.history):
        return None
    from lbdemo.history.columns import read_columns

    return read_columns(args.history)


def _suite_name(args: argparse.Namespace, report: dict[str, Any]) -> str:
    label = (report.get("run") or {}).get("label")
    source = args.report or " ".join(args.history)
    return f"{label}: {source}" if label else str(source)


def run(args: argparse.Namespace) -> int:
    if (args.report is None) == (args.history is None):
        raise UsageError("give either a REPORT.json or --history H.jsonl, not both or neither")
    limits = Limits(args.expect, args.max_stale_rate, args.max_lost_writes)
    inputs = [args.report] if args.report else [*args.history, *filter(None, [args.audit])]
    refuse_overwriting_inputs(
        inputs,
        {
            "--junit": args.junit,
            "--json": args.json_out,
            "--markdown": args.md_out,
            "--html": args.html_out,
        },
    )
    if args.report is not None:
        for flag, value in (
            ("--from", args.source),
            ("--audit", args.audit),
            ("--json", args.json_out),
            ("--markdown", args.md_out),
            ("--html", args.html_out),
        ):
            if value:
                raise UsageError(f"{flag} only applies to --history")
        report = load_report(args.report)
        if not limits.any:
            print(printable(render_markdown(report)))
    else:
        report, history, result, audit = _report_from_history(args)
        markdown = render_markdown(report)
        if args.json_out:
            write_json(args.json_out, report)
        if args.md_out:
            write_text(args.md_out, markdown)
        if args.html_out:
            assert history is not None  # an HTML page is only drawn from a History
            page = render_history_html(
                report, history, result, audit, link_base=Path(args.html_out).parent.resolve()
            )
            write_text(args.html_out, page)
        print(printable(markdown))
    judgements = judge(report, limits)
    if args.junit:
        write_text(args.junit, junit_xml(report, judgements, suite=_suite_name(args, report)))
    for j in judgements:
        if j.asked:
            print(printable(j.message))
    return 1 if any(j.passed is False for j in judgements) else 0
