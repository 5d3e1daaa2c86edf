"""Markdown for people: a report as tables and sentences, readable raw in a terminal too.

Every string that came from a history, an audit or a report (write ids, keys, client and
replica names, labels, commands, the checker's sentences that quote them) goes through
:func:`md_text` or :func:`md_code`: a client named ``<img onerror=...>`` is shown, not rendered,
and a control character is shown as an escape (issue 21, item 8).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lbdemo.files import printable

KIND_LABELS = {
    "stale_read": "stale reads",
    "read_your_writes": "read-your-writes violations",
    "monotonic_read": "monotonic-read violations",
    "garbage_read": "garbage reads",
    "lost_write": "lost writes",
}


# What Markdown (CommonMark and GitHub's tables, strikethrough and autolinks) can read as
# syntax inside a line: each is shown as itself with a backslash before it. Punctuation that
# only matters at the start of a line (#, -, +, digits) cannot start one here: every string from
# outside is one line inside a sentence, a list item or a table cell. An underscore inside a
# word (``locust_stats.csv``) is never emphasis, so it is left as it is, for the raw reader.
_MARKDOWN = re.compile(r"([\\`*\[\]<>&|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")


def md_text(text: object) -> str:
    """``text`` from outside as one line of Markdown text that shows exactly it: controls
    escaped (:func:`lbdemo.files.printable`), whitespace runs one space, syntax backslashed."""
    return _MARKDOWN.sub(r"\\\1", " ".join(printable(str(text)).split()))


def md_code(text: object) -> str:
    """``text`` from outside as one Markdown code span, whatever backticks it holds."""
    line = " ".join(printable(str(text)).split())
    fence = "`" * (max((len(run) for run in re.findall("`+", line)), default=0) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def _cell(text: str) -> str:
    """Text that stays inside its cell and shows as itself (a label may hold ``|``, ``<``)."""
    return md_text(text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A Markdown table padded so that its columns also line up as plain text."""
    return padded_table(
        [_cell(h) for h in headers], [[_cell(c) for c in row] for row in rows], right
    )


def padded_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> str:
    """:func:`table` for cells that are Markdown already (escaped text, links): padded only."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def fmt(value: Any) -> str:
    """Numbers as people read them: thousands separators, 3 significant decimals at most."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value)
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def fmt_rate(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.2f}%"


def verdict_reason(report: dict[str, Any]) -> str:
    """Why the verdict is what it is, in one line (without the verdict itself)."""
    parts = []
    for kind, label in KIND_LABELS.items():
        n = report["anomalies"].get(kind, {}).get("count") or 0
        if n:
            rate = report["anomalies"][kind].get("rate")
            parts.append(f"{n:,} {label} ({fmt_rate(rate)})")
    lin = report.get("linearizability", {})
    if lin.get("keys_not_linearizable"):
        parts.append(f"{lin['keys_not_linearizable']} keys not linearizable")
    div = (report.get("divergent_keys") or {}).get("count")
    if div:
        parts.append(f"{div} divergent keys")
    if parts:
        return ", ".join(parts)
    totals = report.get("totals", {})
    return (
        f"no anomaly in {totals.get('observed_reads', 0):,} reads and "
        f"{totals.get('acknowledged_writes', 0):,} acknowledged writes"
        + ("" if report.get("audited") else " (no final audit)")
    )


def _title(run: dict[str, Any]) -> str:
    label = run.get("label") or run.get("scenario") or "run"
    layout = run.get("layout")
    name = layout.get("name") if isinstance(layout, dict) else None
    title = f"{label} ({name} layout)" if name and name != label else str(label)
    return md_text(title)


def _flat(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested meta (``{"locust": {"exit_code": 0}}``) as dotted rows (``locust.exit_code``)."""
    rows: list[tuple[str, Any]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            rows += _flat(v, f"{prefix}{k}.")
        else:
            rows.append((f"{prefix}{k}", v))
    return rows


def render_markdown(report: dict[str, Any]) -> str:
    run = report.get("run", {})
    totals = report["totals"]
    lat = report["latency_ms"]
    out = [
        f"# lbdemo report: {_title(run)}",
        "",
        f"**Verdict: {md_text(report['verdict'].upper())}**: {verdict_reason(report)}",
        "",
    ]

    if run:
        out += ["## Run", "", table(["", "value"], [[k, fmt(v)] for k, v in _flat(run)]), ""]

    rows = [
        ["operations", fmt(totals["ops"])],
        ["reads / writes", f"{fmt(totals['reads'])} / {fmt(totals['writes'])}"],
        [
            "outcomes ok / fail / unknown",
            " / ".join(fmt(totals["by_outcome"][k]) for k in ("ok", "fail", "unknown")),
        ],
        ["measured duration (s)", fmt(report["measured_duration_s"])],
        ["throughput (ops/s)", fmt(report["ops_per_s"])],
    ]
    for which in ("all", "reads", "writes"):
        d = lat[which]
        rows.append(
            [
                f"latency {which} p50 / p95 / p99 (ms)",
                " / ".join(fmt(d[p]) for p in ("p50", "p95", "p99")),
            ]
        )
    for kind, label in KIND_LABELS.items():
        a = report["anomalies"][kind]
        rows.append([label, f"{fmt(a['count'])} ({fmt_rate(a['rate'])})"])
    lin = report["linearizability"]
    rows.append(
        [
            "linearizability",
            f"{lin['verdict']} ({lin['keys_linearizable']} keys yes, "
            f"{lin['keys_not_linearizable']} no)",
        ]
    )
    div = report["divergent_keys"]
    rows.append(["divergent keys", fmt(div["count"])])
    out += ["## Summary", "", table(["metric", "value"], rows), ""]

    reps = report.get("replicas", [])
    if reps:
        out += [
            "## Per replica",
            "",
            table(
                ["replica", "ops", "reads", "writes", "stale reads served", "rows (audit)"],
                [
                    [
                        r["replica"],
                        fmt(r["ops"]),
                        fmt(r["reads"]),
                        fmt(r["writes"]),
                        fmt(r["stale_reads"]),
                        fmt(r["rows"]),
                    ]
                    for r in reps
                ],
                right=(1, 2, 3, 4, 5),
            ),
            "",
        ]

    if div["examples"]:
        examples = ", ".join(map(md_text, div["examples"]))
        out += [f"Divergent keys (first {len(div['examples'])}): {examples}", ""]
    lost = report["lost_writes"]
    if lost["examples"]:
        out += ["Lost writes (first few): " + ", ".join(map(md_text, lost["examples"])), ""]
    if lin["witnesses"]:
        out += ["## Why not linearizable", ""]
        out += [f"- {md_text(w['witness'])}" for w in lin["witnesses"]] + [""]
    explained = report.get("explained_anomalies", [])
    if explained:
        out += ["## Explained anomalies", ""]
        out += [
            f"- **{md_text(KIND_LABELS.get(a['kind'], a['kind']))}**: {md_text(a['explanation'])}"
            for a in explained
        ] + [""]
    return "\n".join(out)
