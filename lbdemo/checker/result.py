"""``check(history, audit)``: every check over one history, gathered into a CheckResult."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from lbdemo.checker.anomalies import KINDS, LOST_WRITE, READ_KINDS, Anomaly, AnomalyLog
from lbdemo.checker.audit import Audit, find_lost_writes
from lbdemo.checker.linearizability import KeyVerdict
from lbdemo.checker.scan import Scan, scan
from lbdemo.history import History, Op

CONSISTENT = "consistent"
INCONSISTENT = "inconsistent"


@dataclass(slots=True)
class CheckResult:
    """Counts of every anomaly kind, a bounded sample of explained ones, and the verdicts."""

    counts: dict[str, int]
    samples: dict[str, list[Anomaly]]  # the first ``sample_limit`` of each kind, explained
    by_replica: dict[str, dict[str, int]]  # kind -> replica ("-" if none) -> count
    keys: dict[str, KeyVerdict]
    reads: int  # reads that observed something (outcome ok)
    acknowledged_writes: int
    unknown_writes: int
    failed_ops: int
    audited: bool = False  # lost writes and divergence are only known with an audit
    divergent_keys: list[str] = field(default_factory=list)
    log: AnomalyLog = field(default_factory=AnomalyLog, repr=False)

    def anomalies(self, kind: str | None = None) -> Iterator[Anomaly]:
        """Every anomaly of ``kind`` (default: all kinds), explained one at a time.

        Offenders in invocation order (the offender is ``ops[0]`` of each); formatting all of
        a big run's sentences takes seconds, so take only what you show.
        """
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown anomaly kind {kind!r} (one of {', '.join(KINDS)})")
        return self.log.explained(kind)

    def offenders(self) -> Iterator[tuple[str, Op]]:
        """(kind, offending operation) of every anomaly, no sentence formatted: for counting."""
        for kind, found in self.log.found.items():
            for offender in found:
                yield kind, offender

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

    @classmethod
    def of(cls, log: AnomalyLog, scanned: Scan, audit: Audit | None) -> CheckResult:
        """The result of a finished scan (per operation or per column) and its anomaly log."""
        return cls(
            counts=log.counts,
            samples=log.samples(),
            by_replica=log.by_replica(),
            keys=scanned.keys,
            reads=scanned.reads,
            acknowledged_writes=scanned.acknowledged_writes,
            unknown_writes=scanned.unknown_writes,
            failed_ops=scanned.failed_ops,
            audited=audit is not None,
            divergent_keys=audit.divergent_keys() if audit is not None else [],
            log=log,
        )

    @property
    def linearizable(self) -> bool:
        return all(v.linearizable for v in self.keys.values())

    @property
    def verdict(self) -> str:
        """``consistent`` only if no anomaly, no divergence, and every key linearizable."""
        clean = not any(self.counts.values()) and not self.divergent_keys
        return CONSISTENT if clean and self.linearizable else INCONSISTENT


def check(history: History, audit: Audit | None = None, *, sample_limit: int = 20) -> CheckResult:
    """Run every check over ``history`` (and the final ``audit`` when there is one).

    ``history`` keeps to the rules :func:`lbdemo.history.read_history` enforces (one operation
    at a time per client, unique write ids, ``complete`` not before ``invoke``).
    """
    with gc_paused():
        return _check(history, audit, sample_limit)


def _check(history: History, audit: Audit | None, sample_limit: int) -> CheckResult:
    t0 = history.t0
    log = AnomalyLog(sample_limit=sample_limit)
    scanned = scan(history.by_key(), log, t0)
    if audit is not None:
        find_lost_writes(history.ops, audit, log, t0)
    return CheckResult.of(log, scanned, audit)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the check allocates its small objects.

    The check creates hundreds of thousands of small tuples (each client's chain of values read)
    and none of them is in a cycle, yet each burst of allocations triggers collections that
    traverse every list of a million operations again: without the pause the check of a
    history of a million operations takes about twice as long (see docs/checker.md).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


__all__ = ["CONSISTENT", "INCONSISTENT", "KINDS", "CheckResult", "check"]
