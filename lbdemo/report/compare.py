"""Two reports side by side: one row per metric, columns A, B and the difference B − A
(headed with the reports' labels)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lbdemo.report.markdown import KIND_LABELS, fmt, fmt_rate, table

Getter = Callable[[dict[str, Any]], Any]


def _get(*path: str) -> Getter:
    def get(report: dict[str, Any]) -> Any:
        value: Any = report
        for part in path:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get


# (label, getter, is_rate)
ROWS: list[tuple[str, Getter, bool]] = [
    ("verdict", _get("verdict"), False),
    ("scenario", _get("run", "scenario"), False),
    ("storage", _get("run", "storage"), False),
    ("replicas", _get("run", "replicas"), False),
    ("users", _get("run", "users"), False),
    ("operations", _get("totals", "ops"), False),
    ("reads", _get("totals", "reads"), False),
    ("writes", _get("totals", "writes"), False),
    ("failed ops", _get("totals", "by_outcome", "fail"), False),
    ("unknown writes", _get("totals", "unknown_writes"), False),
    ("throughput (ops/s)", _get("ops_per_s"), False),
    *[
        (f"latency {which} {p} (ms)", _get("latency_ms", which, p), False)
        for which in ("all", "reads", "writes")
        for p in ("p50", "p95", "p99")
    ],
    *[
        row
        for kind, label in KIND_LABELS.items()
        for row in (
            (label, _get("anomalies", kind, "count"), False),
            (f"{label} rate", _get("anomalies", kind, "rate"), True),
        )
    ],
    ("divergent keys", _get("divergent_keys", "count"), False),
    ("keys not linearizable", _get("linearizability", "keys_not_linearizable"), False),
    ("linearizability", _get("linearizability", "verdict"), False),
]


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _difference(a: Any, b: Any, is_rate: bool) -> str:
    if a is None or b is None:
        return ""  # not measured on one side: nothing to subtract
    if _number(a) and _number(b):
        d = b - a
        if d == 0:
            return "0"
        if is_rate:
            return f"{d * 100:+.2f} pp"
        if isinstance(d, int) or abs(d) >= 100:  # ops/s and counts: decimals are noise there
            text = f"{d:+,.0f}"
        else:
            text = f"{d:+,.3f}".rstrip("0").rstrip(".")
        if a:
            text += f" ({d / a * 100:+.0f}%)"
        return text
    return "same" if a == b else "differs"


def compare(a: dict[str, Any], b: dict[str, Any], labels: tuple[str, str] = ("A", "B")) -> str:
    """A Markdown table comparing report ``a`` with report ``b`` (difference is B − A)."""
    rows = []
    for label, get, is_rate in ROWS:
        va, vb = get(a), get(b)
        if va is None and vb is None:
            continue
        show = fmt_rate if is_rate else fmt
        rows.append([label, show(va), show(vb), _difference(va, vb, is_rate)])
    header = ["metric", labels[0], labels[1], f"difference ({labels[1]} − {labels[0]})"]
    return table(header, rows, right=(1, 2, 3))


def compare_reports(reports: list[dict[str, Any]]) -> str:
    """Interim: two reports side by side, labelled by their own labels."""
    a, b = reports[0], reports[1]
    return compare(a, b, labels=(a["run"]["label"], b["run"]["label"]))
