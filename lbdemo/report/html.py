"""Self-contained HTML pages: one run's report, and several runs compared on the same scales.

Each page is one file that opens offline: the charting library (uPlot, MIT, vendored with its
licence in ``assets/``), the page's own script and its data are all inlined. Data is never one
DOM node per operation: rates and latencies come from the report's per-second series
(:mod:`lbdemo.report.series`), and the per-operation timeline from compact column arrays drawn
on a canvas. The data block is gzip-compressed JSON in base64 (the browser inflates it with
``DecompressionStream``): a 100,000-operation run with every anomaly's sentence stays a few MB.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import math
import os
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from lbdemo.checker import KINDS, Anomaly, Audit, CheckResult
from lbdemo.errors import UsageError
from lbdemo.history import History, Op
from lbdemo.report.compare import headings, run_label
from lbdemo.report.markdown import KIND_LABELS, fmt, fmt_rate
from lbdemo.report.series import build_series

TIME_UNIT_S = 1e-5  # operation times travel as integers of 10 µs: exact enough, short in JSON
OUTCOME_CODES = {"ok": 0, "fail": 1, "unknown": 2}
NOT_FOUND = -1
UNKNOWN_VALUE = -2  # a read returned a write id no write in the history carries


# ---------------------------------------------------------------------------------------------
# Assets


@cache
def _asset(name: str) -> str:
    return (resources.files("lbdemo.report") / "assets" / name).read_text(encoding="utf-8")


def _template(name: str) -> Template:
    return Template(_asset(name))


def _pack(data: object) -> str:
    """Data for the page: gzip-compressed JSON, base64 (safe inside a <script> element)."""
    raw = json.dumps(data, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def _page(
    template: str, title: str, header: str, data: object, script: str, extra_css: str = ""
) -> str:
    return _template(template).substitute(
        title=html.escape(title),
        css=_asset("uPlot.min.css") + "\n" + _asset("page.css") + extra_css,
        header=header,
        data=_pack(data),
        uplot=_asset("uPlot.iife.min.js"),
        common=_asset("common.js"),
        script=_asset(script),
    )


# ---------------------------------------------------------------------------------------------
# Run settings: tolerant of reports written before and after ``run.label``/``layout``/``settings``


def run_layout(report: dict[str, Any]) -> str | None:
    run = report.get("run") or {}
    layout = run.get("layout")
    if isinstance(layout, dict):
        return str(layout.get("summary") or layout.get("name"))
    return None if layout is None else str(layout)


def run_settings(report: dict[str, Any]) -> dict[str, str]:
    """The settings a run was made with (its layout and ``run.settings``), as display strings."""
    run = report.get("run") or {}
    out: dict[str, str] = {}
    layout = run_layout(report)
    if layout is not None:
        out["layout"] = layout
    settings = run.get("settings")
    for key, value in settings.items() if isinstance(settings, dict) else ():
        if isinstance(value, dict | list):
            value = json.dumps(value, separators=(", ", ": "))
        out.setdefault(str(key), fmt(value))
    return out


def _periods(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in (report.get("run") or {}).get("periods") or []:
        try:
            start, end = float(p["start_s"]), float(p["end_s"])
        except (KeyError, TypeError, ValueError):
            continue  # a malformed period is not worth failing the whole page for
        out.append({"label": str(p.get("label", "")), "start_s": start, "end_s": end})
    return out


# ---------------------------------------------------------------------------------------------
# Headline: server-side HTML, so the numbers show before (and without) any script


def _headline(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, value, detail) tiles for the top of a page."""
    totals = report.get("totals") or {}
    anomalies = report.get("anomalies") or {}
    lat = (report.get("latency_ms") or {}).get("all") or {}
    tiles = [
        (
            "operations",
            fmt(totals.get("ops")),
            f"{fmt(totals.get('reads'))} reads / {fmt(totals.get('writes'))} writes",
        ),
        (
            "throughput",
            f"{fmt(report.get('ops_per_s'))} ops/s",
            f"over {fmt(report.get('measured_duration_s'))} s",
        ),
    ]
    stale = anomalies.get("stale_read") or {}
    tiles.append(
        ("stale reads", fmt(stale.get("count")), f"{fmt_rate(stale.get('rate'))} of reads")
    )
    for kind in ("read_your_writes", "monotonic_read"):
        a = anomalies.get(kind) or {}
        tiles.append(
            (KIND_LABELS[kind], fmt(a.get("count")), f"{fmt_rate(a.get('rate'))} of reads")
        )
    div = report.get("divergent_keys") or {}
    tiles.append(
        (
            "divergent keys",
            fmt(div.get("count")),
            f"of {fmt(totals.get('keys'))} keys at the final audit",
        )
    )
    tiles.append(
        (
            "latency p50 / p95 / p99",
            f"{fmt(lat.get('p50'))} / {fmt(lat.get('p95'))} / {fmt(lat.get('p99'))}",
            "ms, operations that took effect",
        )
    )
    return tiles


def _verdict_html(report: dict[str, Any]) -> str:
    verdict = str(report.get("verdict", "unknown"))
    cls = {"consistent": "ok", "inconsistent": "bad"}.get(verdict, "unknown")
    text = html.escape(verdict)
    return f'<div class="verdict {cls}" data-verdict="{text}">{text}</div>'


def _tiles_html(report: dict[str, Any]) -> str:
    return "".join(
        f'<div class="tile"><div class="tile-label">{html.escape(label)}</div>'
        f'<div class="tile-value">{html.escape(value)}</div>'
        f'<div class="tile-detail">{html.escape(detail)}</div></div>'
        for label, value, detail in _headline(report)
    )


def _links_html(report: dict[str, Any], link_base: str | os.PathLike[str] | None) -> str:
    files = (report.get("run") or {}).get("files") or {}
    names = {
        "locust_html": "Locust's own report (HTML)",
        "locust_csv": "Locust's statistics (CSV)",
        "history": "operation history (JSON Lines)",
        "audit": "final audit (JSON)",
    }
    links = []
    for field, text in names.items():
        target = files.get(field)
        if not isinstance(target, str) or not target:
            continue
        if link_base is not None and os.path.isabs(target):
            target = os.path.relpath(target, link_base)
        links.append(f'<a href="{html.escape(target)}" data-file="{field}">{html.escape(text)}</a>')
    return " · ".join(links) if links else "no files recorded for this run"


def _settings_html(report: dict[str, Any]) -> str:
    settings = run_settings(report)
    return " · ".join(
        f"{html.escape(k)} <b>{html.escape(v)}</b>" for k, v in settings.items() if k != "command"
    )


# ---------------------------------------------------------------------------------------------
# One run


def _natural(name: str) -> tuple[Any, ...]:
    """u2 before u10."""
    head = name.rstrip("0123456789")
    tail = name[len(head) :]
    return (head, int(tail) if tail else -1, name)


def _op_columns(
    history: History, replicas: list[str]
) -> tuple[dict[str, Any], dict[int, int], list[str], list[str]]:
    """Every operation as parallel integer arrays; and the index of each op (by identity)."""
    ops = history.ops
    t0 = history.t0
    clients = sorted({op.client for op in ops}, key=_natural)
    keys = sorted({op.key for op in ops}, key=_natural)
    ci = {c: i for i, c in enumerate(clients)}
    ki = {k: i for i, k in enumerate(keys)}
    ri = {r: i for i, r in enumerate(replicas)}
    write_index: dict[str, int] = {}
    for i, op in enumerate(ops):
        if op.op == "write" and op.write_id is not None:
            write_index[op.write_id] = i
    inv: list[int] = []
    dur: list[int] = []
    cli: list[int] = []
    rep: list[int] = []
    key: list[int] = []
    kind: list[int] = []
    price: list[float | int | None] = []
    val: list[int] = []
    wids: list[str] = []
    prev = 0
    unit = TIME_UNIT_S
    for op in ops:
        start = round((op.invoke - t0) / unit)
        inv.append(start - prev)  # delta-encoded: ops are sorted by invocation
        prev = start
        dur.append(round((op.complete - t0) / unit) - start)
        cli.append(ci[op.client])
        rep.append(-1 if op.replica is None else ri[op.replica])
        key.append(ki[op.key])
        is_write = op.op == "write"
        kind.append((3 if is_write else 0) + OUTCOME_CODES[op.outcome])
        # JSON has no infinity; a history may hold one (1e999 parses as inf).
        price.append(op.price if op.price is None or math.isfinite(op.price) else None)
        if is_write:
            wids.append(op.write_id or "")
            val.append(0)
        elif op.write_id is None:
            val.append(NOT_FOUND)
        else:
            val.append(write_index.get(op.write_id, UNKNOWN_VALUE))
    columns = {
        "inv": inv,
        "dur": dur,
        "cli": cli,
        "rep": rep,
        "key": key,
        "kind": kind,
        "price": price,
        "val": val,
        "wid": wids,
    }
    return columns, {id(op): i for i, op in enumerate(ops)}, clients, keys


def _anomaly_columns(
    anomalies: list[Anomaly], index: dict[int, int], ops: list[Op]
) -> dict[str, Any]:
    by_value: dict[Op, int] | None = None

    def find(op: Op) -> int:
        nonlocal by_value
        i = index.get(id(op))
        if i is None:  # an anomaly built from equal but not identical ops
            if by_value is None:
                by_value = {o: j for j, o in enumerate(ops)}
            i = by_value.get(op, -1)
        return i

    kinds = {k: i for i, k in enumerate(KINDS)}
    op_col: list[int] = []
    kind_col: list[int] = []
    text: list[str] = []
    witnesses: list[list[int]] = []
    for a in anomalies:
        if not a.ops:
            continue
        op_col.append(find(a.ops[0]))
        kind_col.append(kinds.get(a.kind, 0))
        text.append(a.explanation)
        witnesses.append([find(w) for w in a.ops[1:]])
    return {"op": op_col, "kind": kind_col, "text": text, "wit": witnesses}


def _audit_rows(audit: Audit | None, history: History) -> list[list[Any]]:
    """[replica, key, write id or None, price or None] for every value the audit found."""
    if audit is None:
        return []
    prices = {op.write_id: op.price for op in history.ops if op.op == "write"}
    rows: list[list[Any]] = []
    for name, values in sorted(audit.replicas.items()):
        for key, wid in sorted(values.items()):
            rows.append([name, key, wid, prices.get(wid) if wid is not None else None])
    return rows


def _default_key(keys: list[str], anomalies: list[Anomaly], report: dict[str, Any]) -> str | None:
    """The key to show first: the one with the most anomalies, else a divergent one."""
    counts: dict[str, int] = {}
    for a in anomalies:
        if a.ops:
            counts[a.ops[0].key] = counts.get(a.ops[0].key, 0) + 1
    if counts:
        return max(sorted(counts), key=lambda k: counts[k])
    examples = (report.get("divergent_keys") or {}).get("examples") or []
    if examples and examples[0] in keys:
        return str(examples[0])
    return keys[0] if keys else None


def report_data(
    report: dict[str, Any], history: History, result: CheckResult, audit: Audit | None
) -> dict[str, Any]:
    """Everything the report page's script draws, JSON-ready (before compression)."""
    anomalies = list(result.anomalies())
    series = report.get("series") or build_series(history, result)
    replicas = sorted(
        {op.replica for op in history.ops if op.replica is not None}
        | set(audit.replicas if audit is not None else ()),
        key=_natural,
    )
    columns, index, clients, keys = _op_columns(history, replicas)
    return {
        "label": run_label(report, 1),
        "verdict": report.get("verdict"),
        "span_s": round(history.span, 6),
        "time_unit_s": TIME_UNIT_S,
        "kinds": list(KINDS),
        "kind_labels": [KIND_LABELS.get(k, k) for k in KINDS],
        "series": series,
        "periods": _periods(report),
        "clients": clients,
        "keys": keys,
        "replicas": replicas,
        "ops": columns,
        "anomalies": _anomaly_columns(anomalies, index, history.ops),
        "audit": _audit_rows(audit, history),
        "default_key": _default_key(keys, anomalies, report),
        "replication": _replication_data(report),
    }


def _replication_data(report: dict[str, Any]) -> dict[str, Any] | None:
    """What the replication chart draws (replicated layouts only; reports made before the
    series was recorded have none, and get no chart)."""
    section = report.get("replication")
    if not section or not section.get("replay_lag_series"):
        return None
    return {
        "synchronous": section["synchronous"],
        "apply_delay_ms": section["apply_delay_ms"],
        "series": section["replay_lag_series"],
    }


def render_report_html(
    report: dict[str, Any],
    history: History,
    result: CheckResult,
    audit: Audit | None = None,
    *,
    link_base: str | os.PathLike[str] | None = None,
) -> str:
    """One run as one self-contained HTML page.

    ``link_base``: the folder the page will be written to, so that absolute file paths in
    ``report["run"]["files"]`` become relative links (relative ones are kept as they are).
    """
    return run_page(report, report_data(report, history, result, audit), link_base=link_base)


def run_page(
    report: dict[str, Any],
    data: object,
    *,
    link_base: str | os.PathLike[str] | None = None,
    extra_header: str = "",
    extra_css: str = "",
) -> str:
    """The page of one run around its chart ``data``: the verdict, the tiles, the settings and
    the links of ``report``, then ``extra_header`` (what a bare history lacks, say)."""
    label = run_label(report, 1)
    header = (
        f"<h1>{html.escape(label)}</h1>"
        f'<div class="top">{_verdict_html(report)}'
        f'<div class="tiles">{_tiles_html(report)}</div></div>'
        f'<p class="settings">{_settings_html(report)}</p>'
        f'<p class="links">{_links_html(report, link_base)}</p>'
        f"{extra_header}"
    )
    title = f"lbdemo report: {label}"
    return _page("report.html", title, header, data, "report.js", extra_css)


# ---------------------------------------------------------------------------------------------
# Several runs


def _dig(report: dict[str, Any], *path: str) -> Any:
    value: Any = report
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    return value


_COMPARED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("verdict", ("verdict",)),
    ("operations", ("totals", "ops")),
    ("throughput (ops/s)", ("ops_per_s",)),
    *((KIND_LABELS[k], ("anomalies", k, "count")) for k in KINDS),
    ("divergent keys", ("divergent_keys", "count")),
    ("linearizability", ("linearizability", "verdict")),
    ("latency p50 (ms)", ("latency_ms", "all", "p50")),
    ("latency p99 (ms)", ("latency_ms", "all", "p99")),
)


def _differs(values: list[Any]) -> bool:
    """Values that differ in a way worth pointing at: any text difference, zero against
    non-zero, or numbers more than 10 % apart (load runs never repeat exactly)."""
    if len({json.dumps(v) for v in values}) <= 1:
        return False
    nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(nums) != len(values):
        return True
    if any(v == 0 for v in nums) and any(v != 0 for v in nums):
        return True
    low, high = min(nums), max(nums)
    return high > 0 and (high - low) / high > 0.10


_NOT_SETTINGS = frozenset({"started_at", "command"})


def compare_rows(reports: list[dict[str, Any]]) -> list[tuple[str, list[Any], bool]]:
    """(label, value per run, differs?) for the headline metrics of several runs."""
    rows = []
    for label, path in _COMPARED:
        values = [_dig(r, *path) for r in reports]
        rows.append((label, values, _differs(values)))
    return rows


def _callouts(reports: list[dict[str, Any]]) -> list[str]:
    """Sentences for the differences that matter most."""
    labels = headings(reports)
    out = []
    verdicts = [r.get("verdict") for r in reports]
    if len(set(verdicts)) > 1:
        out.append(
            "Verdicts differ: "
            + ", ".join(f"{lab} is {v}" for lab, v in zip(labels, verdicts, strict=True))
            + "."
        )
    for kind in ("stale_read", "read_your_writes", "monotonic_read", "lost_write"):
        counts = [((r.get("anomalies") or {}).get(kind) or {}) for r in reports]
        values = [c.get("count") for c in counts]
        if _differs(values):
            out.append(
                KIND_LABELS[kind].capitalize()
                + ": "
                + ", ".join(
                    f"{lab} {fmt(c.get('count'))} ({fmt_rate(c.get('rate'))})"
                    for lab, c in zip(labels, counts, strict=True)
                )
                + "."
            )
    div = [(r.get("divergent_keys") or {}).get("count") for r in reports]
    if _differs(div):
        out.append(
            "Keys the replicas disagree on at the end: "
            + ", ".join(f"{lab} {fmt(d)}" for lab, d in zip(labels, div, strict=True))
            + "."
        )
    if not out:
        out.append("No difference in verdict, anomalies or divergence between these runs.")
    return out


def _compare_table_html(reports: list[dict[str, Any]]) -> str:
    labels = headings(reports)
    head = "".join(f"<th>{html.escape(lab)}</th>" for lab in labels)
    body = []
    for label, values, differs in compare_rows(reports):
        cells = "".join(f"<td>{html.escape(fmt(v))}</td>" for v in values)
        cls = ' class="differs"' if differs else ""
        body.append(f"<tr{cls}><th>{html.escape(label)}</th>{cells}</tr>")
    settings = [run_settings(r) for r in reports]
    names: list[str] = []
    for s in settings:
        names.extend(k for k in s if k not in names)
    for name in names:
        values = [s.get(name, "–") for s in settings]
        # When and how a run was started always differs; that is not a difference in settings.
        differs = len(set(values)) > 1 and name not in _NOT_SETTINGS
        cls = ' class="differs"' if differs else ""
        cells = "".join(f"<td>{html.escape(v)}</td>" for v in values)
        body.append(
            f'<tr{cls} data-setting="{html.escape(name)}"><th>{html.escape(name)}</th>{cells}</tr>'
        )
    return (
        f'<table class="compare"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def render_compare_html(reports: list[dict[str, Any]]) -> str:
    """Two or more runs side by side: the same charts on the same scales, differences called
    out, settings shown. Draws from the report JSON alone (its ``series``)."""
    if len(reports) < 2:
        raise UsageError("a comparison needs at least two reports")
    labels = headings(reports)
    runs_html = "".join(
        f'<div class="run-head">{_verdict_html(r)}<h2>{html.escape(lab)}</h2>'
        f'<p class="settings">{_settings_html(r)}</p></div>'
        for lab, r in zip(labels, reports, strict=True)
    )
    callouts = "".join(f"<li>{html.escape(c)}</li>" for c in _callouts(reports))
    header = (
        f"<h1>{html.escape(' vs '.join(labels))}</h1>"
        f'<ul class="callouts">{callouts}</ul>'
        f'<div class="runs" style="--runs:{len(reports)}">{runs_html}</div>'
        f"{_compare_table_html(reports)}"
    )
    data = {
        "kinds": list(KINDS),
        "kind_labels": [KIND_LABELS.get(k, k) for k in KINDS],
        "runs": [
            {
                "label": lab,
                "verdict": r.get("verdict"),
                "series": r.get("series"),
                "periods": _periods(r),
                "span_s": r.get("measured_duration_s"),
            }
            for lab, r in zip(labels, reports, strict=True)
        ],
    }
    return _page(
        "compare.html", "lbdemo compare: " + " vs ".join(labels), header, data, "compare.js"
    )
