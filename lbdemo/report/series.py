"""``build_series``: a run's history folded into small per-second series for the report JSON.

The HTML report and the compare page draw their rate and latency charts from these series, so
the compare page needs nothing but report JSON files. A 20 s run gives 20 buckets per series (a
few KB); a run longer than :data:`MAX_BUCKETS` seconds gets wider buckets instead of more.

Each value is a count in its bucket divided by the bucket's width: a per-second rate. Operations
are placed by their invocation time, anomalies by their offending operation's. A run rarely
lasts a whole number of buckets, so the last bucket takes the remainder: it is between half and
one and a half ``bucket_s`` wide (``last_bucket_s``), and its rates are divided by that width,
so the series does not drop at the end of every run.

Also here, :func:`every_anomaly`: every anomaly of a run with its sentence, which both the series
and the HTML timeline need (the check result itself keeps only a sample per kind).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lbdemo.checker import KINDS, Anomaly, Audit, CheckResult
from lbdemo.checker.anomalies import (
    LOST_WRITE,
    READ_KINDS,
    AnomalyLog,
    group_by_key,
    scan_key,
)
from lbdemo.checker.audit import find_lost_writes
from lbdemo.history import History, Op, gc_paused
from lbdemo.stats import percentile

SERIES_FORMAT = "lbdemo-series/1"
MAX_BUCKETS = 600
QUANTILES = (50, 95, 99)


def every_anomaly(
    result: CheckResult, history: History, audit: Audit | None = None
) -> Iterator[Anomaly]:
    """Every anomaly of the run, each with its sentence, grouped by kind in :data:`KINDS` order.

    Uses ``result.anomalies()`` where the checker offers it. Otherwise: the result's samples
    when they are complete, else the same scan the checker runs again without a sample limit
    (lost writes need ``audit``; without it only the sampled ones come out).
    """
    method = getattr(result, "anomalies", None)
    if callable(method):
        yield from method()
        return
    if all(len(result.samples[kind]) >= result.counts.get(kind, 0) for kind in KINDS):
        for kind in KINDS:
            yield from result.samples[kind]
        return
    log = AnomalyLog(sample_limit=sys.maxsize)
    with gc_paused():
        groups = group_by_key(history.ops)
        for key in sorted(groups):
            scan_key(groups[key], log, history.t0)
        if audit is not None:
            find_lost_writes(history.ops, audit, log, history.t0)
    for kind in KINDS:
        if kind in READ_KINDS or audit is not None:
            yield from log.samples[kind]
        else:
            yield from result.samples[kind]


class _OffenderLog(AnomalyLog):
    """An AnomalyLog that keeps every offender and never formats a sentence."""

    def __init__(self) -> None:
        super().__init__(sample_limit=0)
        self.offenders: list[tuple[str, Op]] = []

    def add(self, kind: str, offender: Op, explain: Callable[[], Anomaly]) -> None:
        self.offenders.append((kind, offender))


def every_offender(
    result: CheckResult, history: History, audit: Audit | None = None
) -> Iterator[tuple[str, Op]]:
    """(kind, offending op) of every anomaly: what the series need, without the sentences."""
    method = getattr(result, "anomalies", None)
    if callable(method) or all(
        len(result.samples[kind]) >= result.counts.get(kind, 0) for kind in KINDS
    ):
        for a in every_anomaly(result, history, audit):
            if a.ops:
                yield a.kind, a.ops[0]
        return
    log = _OffenderLog()
    with gc_paused():
        groups = group_by_key(history.ops)
        for key in sorted(groups):
            scan_key(groups[key], log, history.t0)
        if audit is not None:
            find_lost_writes(history.ops, audit, log, history.t0)
    yield from log.offenders
    if audit is None:
        for a in result.samples[LOST_WRITE]:
            yield a.kind, a.ops[0]


def bucket_width(span_s: float) -> float:
    """One second, or wider so that a long run still has at most :data:`MAX_BUCKETS` buckets."""
    return float(max(1, math.ceil(span_s / MAX_BUCKETS)))


def _rates(counts: list[int], widths: list[float]) -> list[float]:
    return [round(c / w, 3) for c, w in zip(counts, widths, strict=True)]


def build_series(
    history: History,
    result: CheckResult,
    audit: Audit | None = None,
    anomalies: list[Anomaly] | None = None,
) -> dict[str, Any]:
    """Per-second series of one run (see the module docstring); JSON-ready.

    ``anomalies``: every anomaly, when the caller already has them (see :func:`every_anomaly`).
    """
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
    if anomalies is None:
        offenders: Iterable[tuple[str, Op]] = every_offender(result, history, audit) if n else ()
    else:
        offenders = ((a.kind, a.ops[0]) for a in anomalies if a.ops)
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
