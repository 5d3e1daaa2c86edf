"""``build_report``: one run's history, check result and audit as a versioned JSON document.

Field names are snake_case and stable; consumers (``lbdemo compare``, ``lbdemo check``, the
results/ folder) read ``format`` first. Add fields freely; rename or remove one only with a new
format version. The schema is ``docs/schemas/lbdemo-report-2.schema.json``.

``lbdemo-report/2`` (after ``/1``): ``run`` carries the run's label, layout, settings and
provenance (command, lbdemo version, git commit, host, load average, Python and PostgreSQL
versions: :func:`lbdemo.report.provenance.run_provenance`); an optional ``series`` holds per-second
figures.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from lbdemo.checker import KINDS, Audit, CheckResult
from lbdemo.history import History, Op
from lbdemo.report.series import build_series
from lbdemo.report.stats import percentile, replica_rows

if TYPE_CHECKING:
    from lbdemo.history.columns import OpColumns

REPORT_FORMAT = "lbdemo-report/2"
EXPLAINED_PER_KIND = 5
DIVERGENT_EXAMPLES = 10


def _latency(ops: list[Op]) -> dict[str, float | int | None]:
    ms = sorted((op.complete - op.invoke) * 1000.0 for op in ops)

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "count": len(ms),
        "p50": r(percentile(ms, 50)),
        "p95": r(percentile(ms, 95)),
        "p99": r(percentile(ms, 99)),
        "max": r(ms[-1] if ms else None),
    }


def _by_outcome(ops: list[Op]) -> dict[str, int]:
    out = {"ok": 0, "fail": 0, "unknown": 0}
    for op in ops:
        out[op.outcome] += 1
    return out


def _replicas(history: History, result: CheckResult, audit: Audit | None) -> list[dict[str, Any]]:
    reads: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    for op in history.ops:
        if op.replica is not None:
            (reads if op.op == "read" else writes)[op.replica] += 1
    traffic = ((name, reads[name], writes[name]) for name in reads.keys() | writes.keys())
    return replica_rows(traffic, result.by_replica["stale_read"], audit)


def _figures(history: History, result: CheckResult, audit: Audit | None) -> dict[str, Any]:
    """What the report says of the operations themselves (see :func:`column_figures`)."""
    ops = history.ops
    reads = [op for op in ops if op.op == "read"]
    writes = [op for op in ops if op.op == "write"]
    ok = [op for op in ops if op.outcome == "ok"]
    return {
        "ops": len(ops),
        "reads": len(reads),
        "writes": len(writes),
        "by_outcome": _by_outcome(ops),
        "reads_by_outcome": _by_outcome(reads),
        "writes_by_outcome": _by_outcome(writes),
        "ops_without_replica": sum(op.replica is None for op in ops),
        "clients": len({op.client for op in ops}),
        "span": history.span,
        "latency_ms": {
            "all": _latency(ok),
            "reads": _latency([op for op in ok if op.op == "read"]),
            "writes": _latency([op for op in ok if op.op == "write"]),
        },
        "replicas": _replicas(history, result, audit),
        "series": build_series(history, result),
    }


def build_report(
    result: CheckResult,
    history: History | OpColumns,
    audit: Audit | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON-ready report of one run. ``meta`` (label, scenario, layout, settings, started_at,
    locust, files and the provenance) is copied under ``"run"`` as given.

    ``history`` as columns (:func:`lbdemo.history.columns.read_columns`) gives the same report
    as the same history read by :func:`lbdemo.history.read_history`, in a fraction of the time
    and memory for a long run.
    """
    if isinstance(history, History):
        figures = _figures(history, result, audit)
    else:
        # Imported here: numpy only for who holds columns (the CLI's --history), not for every
        # command that imports the reports.
        from lbdemo.report.columns import column_figures

        figures = column_figures(history, result, audit)
    span = figures["span"]
    n_ops = figures["ops"]
    rates = result.rates
    keys_bad = [v for v in result.keys.values() if not v.linearizable]
    lost = result.samples["lost_write"]
    return {
        "format": REPORT_FORMAT,
        "run": dict(meta or {}),
        "verdict": result.verdict,
        "audited": result.audited,
        "totals": {
            "ops": n_ops,
            "reads": figures["reads"],
            "writes": figures["writes"],
            "by_outcome": figures["by_outcome"],
            "reads_by_outcome": figures["reads_by_outcome"],
            "writes_by_outcome": figures["writes_by_outcome"],
            "observed_reads": result.reads,
            "acknowledged_writes": result.acknowledged_writes,
            "unknown_writes": result.unknown_writes,
            "ops_without_replica": figures["ops_without_replica"],
            "keys": len(result.keys),
            "clients": figures["clients"],
        },
        "measured_duration_s": round(span, 6),
        "ops_per_s": round(n_ops / span, 3) if span > 0 else None,
        # Latency of operations that took effect: failures return early and would flatter it.
        "latency_ms": figures["latency_ms"],
        "anomalies": {kind: {"count": result.counts[kind], "rate": rates[kind]} for kind in KINDS},
        "replicas": figures["replicas"],
        "divergent_keys": {
            "count": len(result.divergent_keys) if result.audited else None,
            "examples": result.divergent_keys[:DIVERGENT_EXAMPLES],
        },
        "lost_writes": {
            "count": result.counts["lost_write"] if result.audited else None,
            "rate": rates["lost_write"],
            "examples": [a.ops[0].write_id for a in lost[:DIVERGENT_EXAMPLES]],
        },
        "linearizability": {
            "verdict": "linearizable" if not keys_bad else "not linearizable",
            "keys_linearizable": len(result.keys) - len(keys_bad),
            "keys_not_linearizable": len(keys_bad),
            "witnesses": [
                {"key": v.key, "witness": v.witness} for v in keys_bad[:EXPLAINED_PER_KIND]
            ],
        },
        "series": figures["series"],
        "explained_anomalies": [
            a.to_dict() for kind in KINDS for a in result.samples[kind][:EXPLAINED_PER_KIND]
        ],
    }
