"""What a report says of the operations themselves, from a history held as columns.

The same figures as :func:`lbdemo.report.build._figures` and
:func:`lbdemo.report.series.build_series` compute from :class:`Op` objects (totals, latency
percentiles, per-replica counts, the per-second series), as whole-array passes: for a history
of a million operations these took as long as loading and checking it.

The same numbers, not close ones: a latency is ``(complete - invoke) * 1000.0`` in float64
either way, percentiles are the same nearest rank of the same sorted values, and every figure is
rounded by Python's ``round`` on a Python float (numpy's rounding differs in the last digit).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from lbdemo.checker import KINDS, Audit, CheckResult
from lbdemo.history.columns import (
    FAIL_CODE,
    OK_CODE,
    OUTCOMES,
    READ_CODE,
    WRITE_CODE,
    Floats,
    OpColumns,
)
from lbdemo.report.series import QUANTILES, SERIES_FORMAT, bucket_width
from lbdemo.report.stats import replica_rows


def column_figures(h: OpColumns, result: CheckResult, audit: Audit | None) -> dict[str, Any]:
    """The operations' part of the report (see :func:`lbdemo.report.build._figures`)."""
    is_read = h.op == READ_CODE
    ok = h.outcome == OK_CODE
    latency = (h.complete - h.invoke) * 1000.0
    none_replica = h.replicas.index(None) if None in h.replicas else -1
    return {
        "ops": len(h),
        "reads": int(np.count_nonzero(is_read)),
        "writes": int(np.count_nonzero(~is_read)),
        "by_outcome": _by_outcome(h.outcome),
        "reads_by_outcome": _by_outcome(h.outcome[is_read]),
        "writes_by_outcome": _by_outcome(h.outcome[~is_read]),
        "ops_without_replica": int(np.count_nonzero(h.replica == none_replica)),
        "clients": len(h.clients),
        "span": h.span,
        "latency_ms": {
            "all": _latency(latency[ok]),
            "reads": _latency(latency[ok & is_read]),
            "writes": _latency(latency[ok & ~is_read]),
        },
        "replicas": _replicas(h, result, audit),
        "series": _series(h, result, latency),
    }


def _by_outcome(outcome: npt.NDArray[np.int8]) -> dict[str, int]:
    counts = np.bincount(outcome, minlength=len(OUTCOMES)).tolist()
    return dict(zip(OUTCOMES, counts, strict=True))


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _percentile(values: Floats, q: float) -> float | None:
    """:func:`lbdemo.report.stats.percentile` of sorted ``values``, as a Python float."""
    n = len(values)
    if not n:
        return None
    rank = max(1, -(-n * q // 100))
    return float(values[min(n, int(rank)) - 1])


def _latency(ms: Floats) -> dict[str, float | int | None]:
    ms = np.sort(ms)
    return {
        "count": len(ms),
        "p50": _round(_percentile(ms, 50)),
        "p95": _round(_percentile(ms, 95)),
        "p99": _round(_percentile(ms, 99)),
        "max": _round(float(ms[-1]) if len(ms) else None),
    }


def _replicas(h: OpColumns, result: CheckResult, audit: Audit | None) -> list[dict[str, Any]]:
    n = len(h.replicas)
    reads = np.bincount(h.replica[h.op == READ_CODE], minlength=n).tolist()
    writes = np.bincount(h.replica[h.op == WRITE_CODE], minlength=n).tolist()
    traffic = (
        (name, r, w)
        for name, r, w in zip(h.replicas, reads, writes, strict=True)
        if name is not None and r + w
    )
    return replica_rows(traffic, result.by_replica["stale_read"], audit)


def _rates(counts: list[int], widths: list[float]) -> list[float]:
    return [round(c / w, 3) for c, w in zip(counts, widths, strict=True)]


def _series(h: OpColumns, result: CheckResult, latency: Floats) -> dict[str, Any]:
    """:func:`lbdemo.report.series.build_series` over columns."""
    t0, span = h.t0, h.span
    width = bucket_width(span)
    n = max(1, round(span / width)) if len(h) else 0
    last = n - 1
    widths = [width] * last + ([max(span - last * width, 1e-3)] if n else [])

    def index(t: Floats) -> npt.NDArray[np.intp]:
        # Python's float // and numpy's floor_divide agree (both floor the true quotient).
        return np.clip(np.floor_divide(t - t0, width), 0, last).astype(np.intp)

    bucket = index(h.invoke) if n else np.zeros(0, dtype=np.intp)

    def count(mask: npt.NDArray[np.bool_]) -> list[int]:
        counts: list[int] = np.bincount(bucket[mask], minlength=n).tolist()
        return counts

    is_read = h.op == READ_CODE
    by_kind: dict[str, list[int]] = {kind: [0] * n for kind in KINDS}
    if n:
        for kind in KINDS:
            invokes = np.fromiter(
                (op.invoke for op in result.log.found[kind]),
                np.float64,
                len(result.log.found[kind]),
            )
            by_kind[kind] = np.bincount(index(invokes), minlength=n).tolist()

    # Each bucket's latencies of operations that took effect: grouped by bucket (a sort of
    # small ints), then each group sorted.
    ok = h.outcome == OK_CODE
    ok_bucket = bucket[ok]
    ok_latency = latency[ok][np.argsort(ok_bucket, kind="stable")]
    sizes = np.bincount(ok_bucket, minlength=n).tolist()
    quantiles: dict[str, list[float | None]] = {f"p{q}": [] for q in QUANTILES}
    start = 0
    for size in sizes:
        values = np.sort(ok_latency[start : start + size])
        start += size
        for q in QUANTILES:
            quantiles[f"p{q}"].append(_round(_percentile(values, q)))

    per_replica: dict[str, list[int]] = {}
    for code, name in enumerate(h.replicas):
        if name is not None:
            mask = h.replica == code
            if mask.any():
                per_replica[name] = count(mask)

    return {
        "format": SERIES_FORMAT,
        "bucket_s": width,
        "last_bucket_s": round(widths[-1], 3) if n else 0.0,
        "t_s": [round(i * width, 3) for i in range(n)],
        "reads_per_s": _rates(count(is_read), widths),
        "writes_per_s": _rates(count(~is_read), widths),
        "failed_per_s": _rates(count(h.outcome == FAIL_CODE), widths),
        "anomalies_per_s": {kind: _rates(c, widths) for kind, c in by_kind.items()},
        "latency_ms": quantiles,
        "replica_requests_per_s": {
            name: _rates(per_replica[name], widths) for name in sorted(per_replica)
        },
    }
