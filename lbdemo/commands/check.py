"""``lbdemo check``: judge a report (or a raw history) against expectations and limits.

    lbdemo check REPORT.json [--expect consistent|inconsistent] [--max-stale-rate R]
                 [--max-lost-writes N] [--junit FILE]
    lbdemo check --history H.jsonl [H2.jsonl ...] [--audit AUDIT.json] [same options]
    lbdemo check --history FILE --from jepsen|porcupine [same options]
                 [--json REPORT.json] [--markdown REPORT.md] [--html REPORT.html]
                 [--initial EDN] [--max-search-states N]

A foreign history lbdemo's own checker cannot take (values written twice, cas, append, a
mutex, transactions) is decided by the general linearizability search instead
(``lbdemo.checker.wgl``): four lines, the last ``verdict: consistent``, ``verdict:
inconsistent: why`` or ``verdict: unknown: search budget exceeded (...)``.

Exit status: 0 when every expectation and limit holds (or none was given), 1 when one does not
(one line each says why), 2 on bad input (missing file, not a report, malformed history, a
limit out of range). ``--junit`` also writes the judgements as JUnit XML for CI.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lbdemo.checker import CONSISTENT, INCONSISTENT, Audit, CheckResult, check, load_audit
from lbdemo.checker.wgl import MAX_STATES, SearchVerdict, decide
from lbdemo.errors import UsageError
from lbdemo.files import printable
from lbdemo.history import History
from lbdemo.interop.calls import Foreign, Refused
from lbdemo.interop.edn import dumps, loads
from lbdemo.interop.formats import FROM, load_any, sniff
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
    parser.add_argument(
        "--initial",
        metavar="EDN",
        help="with --from: the value every register holds before any write, in EDN (default "
        "nil; \"\" for a key-value history), e.g. 0 or '{:x 0 :y 0}' (Knossos's tests)",
    )
    parser.add_argument(
        "--max-search-states",
        type=count_limit,
        metavar="N",
        default=MAX_STATES,
        help="the general search's budget: states cached per key before it answers unknown "
        f"(default {MAX_STATES:,}; it also stops after a minute)",
    )
    parser.set_defaults(func=run)


def _read(args: argparse.Namespace) -> History | tuple[Foreign, Refused]:
    """lbdemo's History of ``--history``, or a foreign history its model refuses (and why)."""
    found = load_any(args.history, args.source)
    if args.initial is not None:
        if not isinstance(found, Foreign):
            raise UsageError("--initial only applies to another tool's history (--from)")
        found.initial = loads(args.initial, "--initial")
    if isinstance(found, History):
        return found
    try:
        return found.history()
    except Refused as refusal:
        return found, refusal


def _general(args: argparse.Namespace, foreign: Foreign, refusal: Refused) -> int:
    """The general search's verdict on a history lbdemo's own checker refuses, in four lines."""
    for flag, value in (
        ("--audit", args.audit),
        ("--json", args.json_out),
        ("--markdown", args.md_out),
        ("--html", args.html_out),
        ("--junit", args.junit),
        ("--max-stale-rate", args.max_stale_rate),
        ("--max-lost-writes", args.max_lost_writes),
    ):
        if value is not None:
            raise UsageError(
                f"{flag} needs a history lbdemo's own checker takes; {foreign.path} is "
                "decided by the general linearizability search instead (docs/history-format.md)"
            )
    result = decide(foreign, max_states=args.max_search_states)
    keys = f" on {result.keys} key{'s' * (result.keys != 1)}" * (result.keys > 1)
    print(
        printable(
            f"{foreign.path}: {foreign.what}, {result.operations} operations{keys}, "
            f"{foreign.model} model, initial value {dumps(foreign.initial)}"
        )
    )
    print(printable(f"lbdemo's own checker cannot take it: {_reason(refusal)}"))
    print(f"general linearizability search: {_cost(result)}")
    line = f"verdict: {result.verdict}"
    if result.witness:
        line += f": {result.witness}"
    print(printable(line))
    if args.expect is None:
        return 0
    if result.verdict == args.expect:
        print(printable(f"as expected: {result.verdict}"))
        return 0
    print(printable(f"expected {args.expect}, but the history is {result.verdict}"))
    return 1


def _reason(refusal: Refused) -> str:
    """The refusal without where it happened (the first line says the file)."""
    text = str(refusal)
    if "}: " in text:
        text = text.split("}: ", 1)[-1]
    return re.sub(r" \(first: .*\)$", "", text.split(";")[0])


def _cost(result: SearchVerdict) -> str:
    return f"{result.states:,} states in {result.seconds:.2f} s"


def _report_from_history(
    args: argparse.Namespace, history: History | OpColumns
) -> tuple[dict[str, Any], History | None, CheckResult, Audit | None]:
    """The report of ``--history``, its History (None when read as columns), result, audit."""
    audit = load_audit(args.audit) if args.audit else None
    if isinstance(history, History):
        result = check(history, audit)
    else:
        from lbdemo.checker.columnar import check_columns

        result = check_columns(history, audit)
    label = Path(args.history[0]).stem.removesuffix("-history")  # "private-history.jsonl"
    meta = {
        "label": label,
        "histories": args.history,
        "audit": args.audit,
        **run_provenance(args.argv, postgresql=None),
    }
    report = build_report(result, history, audit, meta)
    return report, history if isinstance(history, History) else None, result, audit


def _columns(args: argparse.Namespace) -> OpColumns | None:
    """lbdemo's own history files as columns: a long run's in a fraction of the memory and
    time (docs/checker.md, "Memory and speed"). None when the general path must read them:
    another tool's format, an HTML page wanted (it draws every operation), or anything
    read_columns leaves to read_history."""
    if (
        args.source is not None
        or args.initial is not None
        or args.html_out
        or any(sniff(p) != "lbdemo" for p in args.history)
    ):
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
        columns = _columns(args)
        found = columns if columns is not None else _read(args)
        if isinstance(found, tuple):
            return _general(args, *found)
        report, history, result, audit = _report_from_history(args, found)
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
