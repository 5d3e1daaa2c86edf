"""``check(history, audit)``: every check over one history, gathered into a CheckResult."""

from __future__ import annotations

from dataclasses import dataclass, field

from lbdemo.checker.anomalies import (
    KINDS,
    LOST_WRITE,
    READ_KINDS,
    Anomaly,
    AnomalyLog,
    group_by_key,
    scan_key,
)
from lbdemo.checker.audit import Audit, find_lost_writes
from lbdemo.checker.linearizability import KeyVerdict, key_verdict
from lbdemo.history import History, gc_paused

CONSISTENT = "consistent"
INCONSISTENT = "inconsistent"


@dataclass(slots=True)
class CheckResult:
    """Counts of every anomaly kind, a bounded sample of explained ones, and the verdicts."""

    counts: dict[str, int]
    samples: dict[str, list[Anomaly]]
    by_replica: dict[str, dict[str, int]]  # kind -> replica ("-" if none) -> count
    keys: dict[str, KeyVerdict]
    reads: int  # reads that observed something (outcome ok)
    acknowledged_writes: int
    unknown_writes: int
    failed_ops: int
    audited: bool = False  # lost writes and divergence are only known with an audit
    divergent_keys: list[str] = field(default_factory=list)

    @property
    def rates(self) -> dict[str, float | None]:
        """Read anomalies per observed read; lost writes per acknowledged write."""
        out: dict[str, float | None] = {}
        for kind in READ_KINDS:
            out[kind] = self.counts[kind] / self.reads if self.reads else 0.0
        if not self.audited:
            out[LOST_WRITE] = None
        else:
            ack = self.acknowledged_writes
            out[LOST_WRITE] = self.counts[LOST_WRITE] / ack if ack else 0.0
        return out

    @property
    def linearizable(self) -> bool:
        return all(v.linearizable for v in self.keys.values())

    @property
    def verdict(self) -> str:
        """``consistent`` only if no anomaly, no divergence, and every key linearizable."""
        clean = not any(self.counts.values()) and not self.divergent_keys
        return CONSISTENT if clean and self.linearizable else INCONSISTENT


def check(history: History, audit: Audit | None = None, *, sample_limit: int = 20) -> CheckResult:
    """Run every check over ``history`` (and the final ``audit`` when there is one)."""
    with gc_paused():
        return _check(history, audit, sample_limit)


def _check(history: History, audit: Audit | None, sample_limit: int) -> CheckResult:
    ops = history.ops
    t0 = history.t0
    log = AnomalyLog(sample_limit=sample_limit)
    keys: dict[str, KeyVerdict] = {}
    groups = group_by_key(ops)
    for key in sorted(groups):
        scan_key(groups[key], log, t0)
        keys[key] = key_verdict(key, groups[key], t0)
    if audit is not None:
        find_lost_writes(ops, audit, log, t0)
    reads = ack = unknown = failed = 0
    for op in ops:
        outcome = op.outcome
        if outcome == "ok":
            if op.op == "read":
                reads += 1
            else:
                ack += 1
        elif outcome == "fail":
            failed += 1
        elif op.op == "write":
            unknown += 1
    return CheckResult(
        counts=dict(log.counts),
        samples=log.samples,
        by_replica=log.by_replica,
        keys=keys,
        reads=reads,
        acknowledged_writes=ack,
        unknown_writes=unknown,
        failed_ops=failed,
        audited=audit is not None,
        divergent_keys=audit.divergent_keys() if audit is not None else [],
    )


__all__ = ["CONSISTENT", "INCONSISTENT", "KINDS", "CheckResult", "check"]
