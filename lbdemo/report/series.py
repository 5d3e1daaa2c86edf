"""``build_series``: a run's history folded into small per-second series for the report JSON.

The HTML report and the compare page draw their rate and latency charts from these series, so
the compare page needs nothing but report JSON files. A 20 s run gives 20 buckets per series (a
few KB); a run longer than :data:`MAX_BUCKETS` seconds gets wider buckets instead of more.

Each value is a count in its bucket divided by the bucket's width: a per-second rate. Operations
are placed by their invocation time, anomalies by their offending operation's. A run rarely
lasts a whole number of buckets, so the last bucket takes the remainder: it is between half and
one and a half ``bucket_s`` wide (``last_bucket_s``), and its rates are divided by that width,
so the series does not drop at the end of every run. Anomalies come from
:meth:`CheckResult.offenders`: every one, without formatting its sentence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from lbdemo.checker import KINDS, CheckResult
from lbdemo.history import History, Op
from lbdemo.report.stats import percentile

SERIES_FORMAT = "lbdemo-series/1"
MAX_BUCKETS = 600
QUANTILES = (50, 95, 99)


def bucket_width(span_s: float) -> float:
    """One second, or wider so that a long run still has at most :data:`MAX_BUCKETS` buckets."""
    return float(max(1, math.ceil(span_s / MAX_BUCKETS)))


def _rates(counts: list[int], widths: list[float]) -> list[float]:
    return [round(c / w, 3) for c, w in zip(counts, widths, strict=True)]


def build_series(history: History, result: CheckResult) -> dict[str, Any]:
    """Per-second series of one run (see the module docstring); JSON-ready."""
    ops = history.ops
    t0 = history.t0
    span = history.span
    width = bucket_width(span)
    n = max(1, round(span / width)) if ops else 0
    last = n - 1
    # The last bucket runs to the end of the span; a zero span (one instant op) counts as 1 ms.
    widths = [width] * last + ([max(span - last * width, 1e-3)] if n else [])

    def index(t: float) -> int:
        return min(last, max(0, int((t - t0) // width)))

    reads = [0] * n
    writes = [0] * n
    failed = [0] * n
    per_replica: dict[str, list[int]] = {}
    latencies: list[list[float]] = [[] for _ in range(n)]
    for op in ops:
        i = index(op.invoke)
        if op.op == "read":
            reads[i] += 1
        else:
            writes[i] += 1
        if op.outcome == "fail":
            failed[i] += 1
        elif op.outcome == "ok":
            latencies[i].append((op.complete - op.invoke) * 1000.0)
        if op.replica is not None:
            counts = per_replica.get(op.replica)
            if counts is None:
                counts = per_replica[op.replica] = [0] * n
            counts[i] += 1

    by_kind = {kind: [0] * n for kind in KINDS}
    offenders: Iterable[tuple[str, Op]] = result.offenders() if n else ()
    for kind, offender in offenders:
        if kind in by_kind:
            by_kind[kind][index(offender.invoke)] += 1

    quantiles: dict[str, list[float | None]] = {f"p{q}": [] for q in QUANTILES}
    for values in latencies:
        values.sort()
        for q in QUANTILES:
            v = percentile(values, q)
            quantiles[f"p{q}"].append(None if v is None else round(v, 3))

    return {
        "format": SERIES_FORMAT,
        "bucket_s": width,
        "last_bucket_s": round(widths[-1], 3) if n else 0.0,
        "t_s": [round(i * width, 3) for i in range(n)],
        "reads_per_s": _rates(reads, widths),
        "writes_per_s": _rates(writes, widths),
        "failed_per_s": _rates(failed, widths),
        "anomalies_per_s": {kind: _rates(c, widths) for kind, c in by_kind.items()},
        "latency_ms": quantiles,
        "replica_requests_per_s": {
            name: _rates(per_replica[name], widths) for name in sorted(per_replica)
        },
    }
