"""Runs side by side, with what makes them comparable: their settings, layout, date and files.

- :func:`compare_reports`: Markdown for two or more reports: the runs (settings, provenance,
  files), a warning when their settings differ, then the results, rates before counts. A
  difference column only for exactly two reports (second minus first).
- :func:`headline`: the verdict and the five figures that matter, one line per run, for a
  terminal (at most 100 columns for labels of up to 24 characters; colour only when asked).
- :func:`settings_warning`: the one line saying which settings differ, or ``None``.

Every figure goes through :mod:`lbdemo.report.figures`: one format for each unit.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lbdemo.files import printable
from lbdemo.report.figures import (
    COUNT,
    GIB,
    LOAD,
    MILLISECONDS,
    NOT_MEASURED,
    PER_SECOND,
    PERCENT,
    SECONDS,
    Unit,
    difference,
    figure,
)
from lbdemo.report.markdown import md_code, md_text, table

Report = dict[str, Any]
WIDTH = 100  # columns a terminal shows without wrapping
TEXT = Unit(0)  # a row of words: shown as is, no difference computed


def _get(*path: str) -> Callable[[Report], Any]:
    def get(report: Report) -> Any:
        value: Any = report
        for part in path:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get


@dataclass(frozen=True)
class Row:
    label: str
    get: Callable[[Report], Any]
    unit: Unit = COUNT


def _started(report: Report) -> str | None:
    started = _get("run", "started_at")(report)
    if not isinstance(started, str):
        return None
    return started.replace("T", " ").replace("+00:00", " UTC")


def _code(report: Report) -> str | None:
    version = _get("run", "lbdemo_version")(report)
    commit = _get("run", "git_commit")(report)
    if version is None:
        return None
    return f"{version} ({commit[:10]})" if isinstance(commit, str) else str(version)


def _load_1m(report: Report) -> Any:
    load = _get("run", "load_average")(report)
    return load[0] if isinstance(load, list) and load else None


def _think_ms(report: Report) -> Any:
    """0 for reports from before ``--think-time``: their users never paused."""
    think = _get("run", "settings", "think_ms")(report)
    return 0 if think is None else think


def _workers(report: Report) -> Any:
    """0 for reports from before ``--workers``: they ran one Locust process."""
    workers = _get("run", "settings", "workers")(report)
    return 0 if workers is None else workers


# What must match for two runs' counts to be comparable; a difference is warned about.
SETTINGS = [
    Row("duration (s)", _get("run", "settings", "duration_s"), SECONDS),
    Row("users", _get("run", "settings", "users")),
    Row("replicas", _get("run", "settings", "replicas")),
    Row("keys", _get("run", "settings", "keys")),
    Row("write ratio", _get("run", "settings", "write_ratio"), PERCENT),
    Row("strategy", _get("run", "settings", "strategy"), TEXT),
    Row("Locust workers", _workers),
    Row("think time (ms)", _think_ms),
    Row("scenario", _get("run", "scenario"), TEXT),
    Row("CPUs", _get("run", "host", "cpus")),
]
# Context shown beside the settings, never warned about: layouts differ on purpose, dates and
# load averages always do.
CONTEXT = [
    Row("layout", _get("run", "layout", "name"), TEXT),
    Row("started", _started, TEXT),
    Row("load average (1 min)", _load_1m, LOAD),
    Row("lbdemo", _code, TEXT),
    Row("PostgreSQL", _get("run", "postgresql"), TEXT),
]

_KINDS = [  # (label of the count, label of the rate, kind)
    ("stale reads", "stale-read rate", "stale_read"),
    ("read-your-writes violations", "read-your-writes rate", "read_your_writes"),
    ("monotonic-read violations", "monotonic-read rate", "monotonic_read"),
    ("garbage reads", "garbage-read rate", "garbage_read"),
]
# Rates first: they compare runs of different lengths; counts after.
RESULTS = [
    Row("verdict", _get("verdict"), TEXT),
    Row("linearizability", _get("linearizability", "verdict"), TEXT),
    *[Row(rate_label, _get("anomalies", kind, "rate"), PERCENT) for _, rate_label, kind in _KINDS],
    Row("lost-write rate", _get("lost_writes", "rate"), PERCENT),
    Row("throughput (ops/s)", _get("ops_per_s"), PER_SECOND),
    *[
        Row(f"latency {p} (ms)", _get("latency_ms", "all", p), MILLISECONDS)
        for p in ("p50", "p95", "p99")
    ],
    Row("read latency p99 (ms)", _get("latency_ms", "reads", "p99"), MILLISECONDS),
    Row("write latency p99 (ms)", _get("latency_ms", "writes", "p99"), MILLISECONDS),
    Row("operations", _get("totals", "ops")),
    Row("reads", _get("totals", "reads")),
    Row("writes", _get("totals", "writes")),
    Row("failed operations", _get("totals", "by_outcome", "fail")),
    Row("writes of unknown outcome", _get("totals", "unknown_writes")),
    *[Row(label, _get("anomalies", kind, "count")) for label, _, kind in _KINDS],
    # Lost writes and divergence are only known from a final audit: "–" without one.
    Row("lost writes", _get("lost_writes", "count")),
    Row("keys", _get("totals", "keys")),
    Row("divergent keys", _get("divergent_keys", "count")),
    Row("keys not linearizable", _get("linearizability", "keys_not_linearizable")),
]
RATES_NOTE = (
    "Read anomaly rates are per successful read; the lost-write rate is per acknowledged write."
)


def run_label(report: Report, number: int) -> str:
    """A report's own name for its run, with its layout: ``shared (shared-volume)``."""
    label = _get("run", "label")(report)
    layout = _get("run", "layout", "name")(report)
    name = str(label) if label else f"run {number}"
    return f"{name} ({layout})" if layout and layout != label else name


def headings(reports: Sequence[Report]) -> list[str]:
    names = [run_label(r, n) for n, r in enumerate(reports, start=1)]
    if len(set(names)) < len(names):  # two runs of the same label: number them
        names = [f"{n}: {name}" for n, name in enumerate(names, start=1)]
    return names


def setting_differences(reports: Sequence[Report]) -> list[str]:
    """``duration (s) 20.0 / 10.0`` for each setting that is not the same in every report."""
    out = []
    for row in SETTINGS:
        values = [row.get(r) for r in reports]
        if len({repr(v) for v in values}) > 1:
            out.append(f"{row.label} " + " / ".join(figure(v, row.unit) for v in values))
    return out


def settings_warning(reports: Sequence[Report]) -> str | None:
    """One line naming the settings that differ (or ``None``): their counts do not compare."""
    differences = setting_differences(reports)
    if not differences:
        return None
    return (
        "these runs differ in " + "; ".join(differences) + ": compare their rates, not their counts"
    )


def _row_cells(row: Row, reports: Sequence[Report], with_difference: bool) -> list[str]:
    values = [row.get(r) for r in reports]
    cells = [figure(v, row.unit) for v in values]
    if with_difference:
        if row.unit is TEXT:
            cells.append("" if values[0] == values[1] else "differs")
        else:
            cells.append(difference(values[0], values[1], row.unit))
    return cells


def _table(
    rows: Sequence[Row], reports: Sequence[Report], first: str, with_difference: bool
) -> str:
    header = [first, *headings(reports)] + (["difference"] if with_difference else [])
    body = [
        [row.label, *_row_cells(row, reports, with_difference)]
        for row in rows
        if any(row.get(r) is not None for r in reports)
    ]
    right = tuple(range(1, len(header)))
    return table(header, body, right=right)


def _run_notes(reports: Sequence[Report]) -> list[str]:
    """Per run, what a table cell cannot hold: the layout in words, command, host, files."""
    lines = []
    for name, report in zip(headings(reports), reports, strict=True):
        run = report.get("run") or {}
        parts = []
        summary = _get("layout", "summary")(run)
        if summary:
            parts.append(md_text(summary))
        if run.get("command"):
            parts.append(md_code(run["command"]))
        host = run.get("host") or {}
        if host:
            memory = host.get("memory_bytes")
            gib = f", {figure(memory, GIB)}" if isinstance(memory, int) else ""
            parts.append(
                f"host: {figure(host.get('cpus'), COUNT)} × "
                f"{md_text(host.get('cpu_model') or 'unknown CPU')}{gib}"
            )
        files = run.get("files") or {}
        if files:
            parts.append("files: " + ", ".join(md_text(f) for f in files.values() if f))
        line = f"- **{md_text(name)}**: " + "; ".join(parts) if parts else f"- **{md_text(name)}**"
        lines.append(
            textwrap.fill(
                line,
                width=WIDTH,
                subsequent_indent="  ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return lines


def compare_reports(reports: list[Report]) -> str:
    """Markdown comparing two or more reports (see the module docstring)."""
    if len(reports) < 2:
        raise ValueError("compare_reports needs two reports or more")
    two = len(reports) == 2
    out = []
    warning = settings_warning(reports)
    if warning:
        out += [f"> **Warning:** {md_text(warning)}", ""]
    out += [
        "## Runs",
        "",
        _table([*SETTINGS, *CONTEXT], reports, "setting", two),
        "",
        *_run_notes(reports),
        "",
        "## Results",
        "",
    ]
    note = RATES_NOTE + (
        " Difference: the second run minus the first; rates in percentage points (pp)."
        if two
        else ""
    )
    out += [textwrap.fill(note, width=WIDTH), ""]
    out += [_table(RESULTS, reports, "metric", two), ""]
    return "\n".join(out)


GREEN, RED, RESET = "\033[32m", "\033[1;31m", "\033[0m"
_HEADLINE = [  # (two-line heading, value, unit)
    (("stale-read", "rate"), _get("anomalies", "stale_read", "rate"), PERCENT),
    (("stale", "reads"), _get("anomalies", "stale_read", "count"), COUNT),
    (("read-your-writes", "violations"), _get("anomalies", "read_your_writes", "count"), COUNT),
    (("divergent", "keys"), _get("divergent_keys", "count"), COUNT),
    (("lost", "writes"), _get("lost_writes", "count"), COUNT),
]


def headline(reports: Sequence[Report], *, color: bool = False, width: int | None = None) -> str:
    """Per run: the verdict, stale-read rate, stale reads, read-your-writes violations,
    divergent keys and lost writes, aligned under a two-line heading.

    ``width``: the terminal's columns. Where one line per run would be wider (a projector's
    terminal has about 80), each run's name goes on a line of its own above its figures."""
    wide = _headline(reports, color, names_inline=True)
    if width is None or max(len(_plain(line)) for line in wide.splitlines()) <= width:
        return wide
    return _headline(reports, color, names_inline=False)


def _plain(line: str) -> str:
    return re.sub(r"\033\[[0-9;]*m", "", line)


def _headline(reports: Sequence[Report], color: bool, *, names_inline: bool) -> str:
    # Only the colours are this function's own escapes: the reports' words are made printable.
    names = [printable(n, one_line=True) for n in headings(reports)]
    verdicts = [printable(str(r.get("verdict", NOT_MEASURED)), one_line=True) for r in reports]
    columns = [[*head, *(figure(get(r), unit) for r in reports)] for head, get, unit in _HEADLINE]
    widths = [max(len(c) for c in col) for col in columns]
    name_w = max(len(n) for n in [*names, "run"]) if names_inline else 0
    verdict_w = max(len(v) for v in [*verdicts, "verdict"])

    def line(name: str, verdict: str, cells: list[str], paint: str = "") -> str:
        padded = verdict.ljust(verdict_w)
        if paint:
            padded = f"{paint}{verdict}{RESET}" + " " * (verdict_w - len(verdict))
        numbers = "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
        head = f"{name.ljust(name_w)}  " if names_inline else ""
        return f"{head}{padded}  {numbers}".rstrip()

    first = "run" if names_inline else ""
    lines = [line("", "", [c[0] for c in columns]), line(first, "verdict", [c[1] for c in columns])]
    for i, (name, verdict) in enumerate(zip(names, verdicts, strict=True)):
        paint = (GREEN if verdict == "consistent" else RED) if color else ""
        if not names_inline:
            lines.append(name)
        lines.append(line(name, verdict, [c[i + 2] for c in columns], paint))
    return "\n".join(lines)
