"""Client-visible anomalies in a history: stale, read-your-writes, monotonic-read and garbage reads.

Every rule here is *sound under concurrency*: an anomaly is reported only when real time proves
it. Write ``w2`` certainly follows write ``w1`` only if ``w2`` was invoked after ``w1`` completed;
a read overlapping a write may return either value. An ``unknown`` write may have been applied at
any moment after its invocation (even after the client gave up), so its completion counts as
+inf: a read that returns it is never "older" than anything.

One pass over the operations in invocation order finds all four kinds. Stale reads use, per key,
the acknowledged writes sorted by completion with a prefix maximum of their invocation times, so
"the newest write that completed before this read began" is one binary search: O(n log n).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lbdemo.history import History, Op

STALE_READ = "stale_read"
READ_YOUR_WRITES = "read_your_writes"
MONOTONIC_READ = "monotonic_read"
GARBAGE_READ = "garbage_read"
LOST_WRITE = "lost_write"
READ_KINDS = (STALE_READ, READ_YOUR_WRITES, MONOTONIC_READ, GARBAGE_READ)
KINDS = (*READ_KINDS, LOST_WRITE)

INF = math.inf


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One offending read or write, the operations that prove it, and a sentence saying so."""

    kind: str
    ops: tuple[Op, ...]  # the offender first, then its witnesses
    explanation: str
    t0: float = 0.0  # the history's first invocation; times below are relative to it

    @property
    def replicas(self) -> tuple[str | None, ...]:
        return tuple(op.replica for op in self.ops)

    @property
    def times(self) -> tuple[tuple[float, float], ...]:
        """(invoke, complete) of each op, in seconds from the first op of the history."""
        return tuple(
            (round(op.invoke - self.t0, 6), round(op.complete - self.t0, 6)) for op in self.ops
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "explanation": self.explanation,
            "ops": [
                {
                    "client": op.client,
                    "op": op.op,
                    "key": op.key,
                    "write_id": op.write_id,
                    "outcome": op.outcome,
                    "replica": op.replica,
                    "invoke_s": inv,
                    "complete_s": comp,
                }
                for op, (inv, comp) in zip(self.ops, self.times, strict=True)
            ],
        }


@dataclass(slots=True)
class AnomalyLog:
    """Counts every anomaly, keeps the explained ones only up to ``sample_limit`` per kind."""

    sample_limit: int = 20
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    samples: dict[str, list[Anomaly]] = field(default_factory=lambda: {k: [] for k in KINDS})
    by_replica: dict[str, dict[str, int]] = field(default_factory=lambda: {k: {} for k in KINDS})

    def add(self, kind: str, offender: Op, explain: Callable[[], Anomaly]) -> None:
        # ``explain`` is a closure so that the sentence is only formatted for kept samples.
        self.counts[kind] += 1
        per = self.by_replica[kind]
        rep = offender.replica or "-"
        per[rep] = per.get(rep, 0) + 1
        if len(self.samples[kind]) < self.sample_limit:
            self.samples[kind].append(explain())


# ---------------------------------------------------------------------------------------------
# Sentences


def at(t: float, t0: float) -> str:
    return f"t={t - t0:.3f}s"


def _read_phrase(r: Op, t0: float) -> str:
    return f"read by {r.client} at {at(r.invoke, t0)} on {r.key} served by {r.replica or '?'}"


def _value_phrase(w: Op | None, t0: float) -> str:
    if w is None:
        return "not found"
    if w.outcome == "unknown":
        return f"{w.write_id} (an unknown-outcome write invoked at {at(w.invoke, t0)})"
    return f"{w.write_id} (written at {at(w.complete, t0)} via {w.replica or '?'})"


# ---------------------------------------------------------------------------------------------
# The per-key scan


def group_by_key(ops: list[Op]) -> dict[str, list[Op]]:
    """Each key's operations, in the order of ``ops``; every check here is per key."""
    groups: dict[str, list[Op]] = {}
    for op in ops:
        g = groups.get(op.key)
        if g is None:
            groups[op.key] = [op]
        else:
            g.append(op)
    return groups


@dataclass(slots=True)
class KeyWrites:
    """Acknowledged writes of one key, sorted by completion, with prefix maxima of invocation."""

    completes: list[float]
    prefix_max_invoke: list[float]
    prefix_argmax: list[Op]  # the write holding that maximum: the newest witness

    @classmethod
    def of(cls, acked: list[Op]) -> KeyWrites:
        acked = sorted(acked, key=lambda w: w.complete)
        pm: list[float] = []
        pa: list[Op] = []
        best = -INF
        best_op = acked[0] if acked else None
        for w in acked:
            if w.invoke > best:
                best, best_op = w.invoke, w
            pm.append(best)
            pa.append(best_op)  # type: ignore[arg-type]  # set once acked is non-empty
        return cls([w.complete for w in acked], pm, pa)


def garbage_reason(r: Op, writes: dict[str, Op]) -> str | None:
    """Why the value ``r`` returned cannot have been written (``writes``: the key's writes)."""
    wid = r.write_id
    if wid is None:
        return None
    w = writes.get(wid)
    if w is None:
        return f"no write on {r.key} carries {wid}"
    if w.outcome == "fail":
        return f"{wid} was a write that certainly failed (status {w.status})"
    if r.price != w.price:
        return f"price {r.price} but {wid} wrote price {w.price}"
    return None


def find_read_anomalies(history: History, log: AnomalyLog) -> None:
    """Add each stale, read-your-writes, monotonic-read and garbage read of ``history``."""
    for ops in group_by_key(history.ops).values():
        scan_key(ops, log, history.t0)


def scan_key(ops: list[Op], log: AnomalyLog, t0: float) -> None:
    """The read anomalies of one key's operations (in invocation order)."""
    writes: dict[str, Op] = {}
    acked: list[Op] = []
    for op in ops:
        if op.op == "write":
            writes[op.write_id] = op  # type: ignore[index]  # writes always carry an id
            if op.outcome == "ok":
                acked.append(op)
    kw = KeyWrites.of(acked)
    completes, prefix_max, prefix_arg = kw.completes, kw.prefix_max_invoke, kw.prefix_argmax
    # Per client: its latest acknowledged write, and (invoke of the newest value's write, the
    # read that saw it, that write) for the newest value it has read so far.
    own_write: dict[str, Op] = {}
    seen: dict[str, tuple[float, Op, Op]] = {}

    for r in ops:
        if r.op == "write":
            if r.outcome == "ok":
                own_write[r.client] = r
            continue
        if r.outcome != "ok":
            continue  # a read that got no answer observed nothing
        wid = r.write_id
        if wid is None:
            w = None
            vcomp = -INF
        else:
            w = writes.get(wid)
            if w is None or w.outcome == "fail" or w.price != r.price:
                _add_garbage(log, r, garbage_reason(r, writes) or "?", t0)
                continue
            vcomp = w.complete if w.outcome == "ok" else INF

        i = bisect_left(completes, r.invoke)
        if i and prefix_max[i - 1] > vcomp:
            _add_stale(log, r, w, prefix_arg[i - 1], t0)

        client = r.client
        mine = own_write.get(client)
        if mine is not None and vcomp < mine.invoke:
            _add_ryw(log, r, w, mine, t0)

        prev = seen.get(client)
        if prev is not None and vcomp < prev[0]:
            _add_monotonic(log, r, w, prev[1], prev[2], t0)
        if w is not None and (prev is None or w.invoke > prev[0]):
            seen[client] = (w.invoke, r, w)


def _add_garbage(log: AnomalyLog, r: Op, why: str, t0: float) -> None:
    log.add(GARBAGE_READ, r, lambda: Anomaly(
        GARBAGE_READ, (r,), f"{_read_phrase(r, t0)} returned {r.write_id}, but {why}", t0))


def _add_stale(log: AnomalyLog, r: Op, w: Op | None, newer: Op, t0: float) -> None:
    def explain() -> Anomaly:
        ops = (r, newer) if w is None else (r, w, newer)
        text = (
            f"{_read_phrase(r, t0)} returned {_value_phrase(w, t0)}, but {newer.write_id} had "
            f"been acknowledged at {at(newer.complete, t0)} via {newer.replica or '?'} "
            "before the read began"
        )
        if w is not None:
            text += f" (and was invoked at {at(newer.invoke, t0)}, after {w.write_id} completed)"
        return Anomaly(STALE_READ, ops, text, t0)

    log.add(STALE_READ, r, explain)


def _add_ryw(log: AnomalyLog, r: Op, w: Op | None, mine: Op, t0: float) -> None:
    def explain() -> Anomaly:
        ops = (r, mine) if w is None else (r, mine, w)
        text = (
            f"{_read_phrase(r, t0)} returned {_value_phrase(w, t0)}, but {r.client} had "
            f"itself written {mine.write_id} (invoked at {at(mine.invoke, t0)}, acknowledged "
            f"at {at(mine.complete, t0)} via {mine.replica or '?'})"
        )
        if w is not None:
            text += f", which began after {w.write_id} completed"
        return Anomaly(READ_YOUR_WRITES, ops, text, t0)

    log.add(READ_YOUR_WRITES, r, explain)


def _add_monotonic(
    log: AnomalyLog, r: Op, w: Op | None, earlier: Op, newer: Op, t0: float
) -> None:
    def explain() -> Anomaly:
        ops = (r, earlier, newer) if w is None else (r, earlier, newer, w)
        text = (
            f"{_read_phrase(r, t0)} returned {_value_phrase(w, t0)}, but {r.client} had "
            f"already read {newer.write_id} at {at(earlier.invoke, t0)} from "
            f"{earlier.replica or '?'}"
        )
        if w is not None:
            text += (
                f", and {newer.write_id} was invoked at {at(newer.invoke, t0)}, after "
                f"{w.write_id} completed"
            )
        return Anomaly(MONOTONIC_READ, ops, text, t0)

    log.add(MONOTONIC_READ, r, explain)
