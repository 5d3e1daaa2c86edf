"""What an anomaly is, how it is recorded, and the sentence that explains it.

Every rule of the checker is *sound under concurrency*: an anomaly is reported only when real
time proves it. One rule decides every comparison of times: operation ``a`` *precedes* ``b``
only if ``a`` completed strictly before ``b`` was invoked (``a.complete < b.invoke``); equal
timestamps mean "concurrent", as in the zone check, where an interval includes its ends. An
``unknown`` write may have been applied at any moment after its invocation (even after the
client gave up), so its completion counts as +inf: a read that returns it is never "older" than
anything.

The per-key pass that finds them is :mod:`lbdemo.checker.scan`; :class:`AnomalyLog` keeps every
anomaly as its offending operation, and finds what explains it (an ``explain_*`` function and
its arguments) only when someone asks for the sentence.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from lbdemo.history import Op

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


# One anomaly with what explains it: (offender, explain, args); ``explain(offender, *args)``
# builds the Anomaly.
Found = tuple[Op, Callable[..., "Anomaly"], tuple[Any, ...]]
# A key's anomalies with what explains them, per kind (what a second scan of the key gives).
Rescan = Callable[[str], dict[str, list[Found]]]
_REPLICA = attrgetter("replica")


def explain(entry: Found) -> Anomaly:
    offender, build, args = entry
    return build(offender, *args)


@dataclass(slots=True)
class AnomalyLog:
    """Every anomaly found, per kind, as its offending operation, in the order found; explained
    only when asked.

    Formatting a sentence costs more than finding the anomaly, so :meth:`samples` explains the
    first ``sample_limit`` of each kind (they go in every report) and :meth:`explained` the rest
    on demand. What explains a read anomaly (the value's write, the witness) is not kept: a run
    with private storage has hundreds of thousands of them, and a tuple per anomaly costs
    allocations and, once the garbage collector runs again, a traversal of every one; the one
    key's operations are scanned again when a sentence is asked for (``rescan``), which finds
    the same anomalies in the same order. Lost writes are few and keep theirs (:meth:`add`).
    """

    sample_limit: int = 20
    found: dict[str, list[Op]] = field(default_factory=lambda: {k: [] for k in KINDS})
    rescan: Rescan | None = None  # set by the scan that fills the read kinds
    _kept: dict[tuple[str, int], Found] = field(default_factory=dict)  # (kind, id(offender))
    _rescanned: dict[str, dict[str, dict[int, Found]]] = field(default_factory=dict)

    def add(self, kind: str, offender: Op, build: Callable[..., Anomaly], *args: Any) -> None:
        """Record an anomaly with what explains it."""
        self.found[kind].append(offender)
        self._kept[(kind, id(offender))] = (offender, build, args)

    def explain(self, kind: str, offender: Op) -> Anomaly:
        """The sentence for one recorded anomaly."""
        entry = self._kept.get((kind, id(offender)))
        if entry is None:
            entry = self._rescan(offender.key)[kind][id(offender)]
        return explain(entry)

    def _rescan(self, key: str) -> dict[str, dict[int, Found]]:
        by_kind = self._rescanned.get(key)
        if by_kind is None:
            if self.rescan is None:
                raise LookupError(f"no scan recorded the anomalies of {key}")
            by_kind = {
                kind: {id(e[0]): e for e in entries} for kind, entries in self.rescan(key).items()
            }
            self._rescanned[key] = by_kind
        return by_kind

    @property
    def counts(self) -> dict[str, int]:
        return {kind: len(found) for kind, found in self.found.items()}

    def samples(self) -> dict[str, list[Anomaly]]:
        return {
            kind: [self.explain(kind, op) for op in found[: self.sample_limit]]
            for kind, found in self.found.items()
        }

    def by_replica(self) -> dict[str, dict[str, int]]:
        """kind -> replica that served the offender ("-" if none) -> count."""
        out: dict[str, dict[str, int]] = {}
        for kind, found in self.found.items():
            per = Counter(map(_REPLICA, found))
            out[kind] = {("-" if rep is None else rep): n for rep, n in per.items()}
        return out

    def explained(self, kind: str | None = None) -> Iterator[Anomaly]:
        """Every anomaly (of ``kind``, or of all kinds), the offenders in invocation order.

        Ties keep the order found, kinds in :data:`KINDS` order. Sorting happens on the first
        ``next()``; each sentence is formatted when its anomaly is reached.
        """
        kinds = KINDS if kind is None else (kind,)
        entries = [(k, op) for k in kinds for op in self.found[k]]
        entries.sort(key=lambda e: e[1].invoke)
        for k, op in entries:
            yield self.explain(k, op)


# ---------------------------------------------------------------------------------------------
# Sentences


def at(t: float, t0: float) -> str:
    return f"t={t - t0:.3f}s"


def read_phrase(r: Op, t0: float) -> str:
    return f"read by {r.client} at {at(r.invoke, t0)} on {r.key} served by {r.replica or '?'}"


def value_phrase(w: Op | None, t0: float) -> str:
    if w is None:
        return "not found"
    if w.outcome == "unknown":
        return f"{w.write_id} (an unknown-outcome write invoked at {at(w.invoke, t0)})"
    return f"{w.write_id} (written at {at(w.complete, t0)} via {w.replica or '?'})"


def garbage_reason(r: Op, w: Op | None, t0: float) -> str:
    """Why the value ``r`` returned cannot have been written (``w``: the write of that id)."""
    if w is None:
        return f"no write on {r.key} carries {r.write_id}"
    if w.outcome == "fail":
        return (
            f"{w.write_id} was a write that failed (status {w.status}, invoked at "
            f"{at(w.invoke, t0)} by {w.client}): it certainly took no effect"
        )
    return f"price {r.price} but {w.write_id} wrote price {w.price}"


def explain_garbage(r: Op, w: Op | None, t0: float) -> Anomaly:
    return Anomaly(
        GARBAGE_READ,
        (r,) if w is None else (r, w),
        f"{read_phrase(r, t0)} returned {r.write_id}, but {garbage_reason(r, w, t0)}",
        t0,
    )


def explain_stale(r: Op, w: Op | None, newest: Callable[[int], Op], i: int, t0: float) -> Anomaly:
    """``newest(i)``: the witness, the newest of the first ``i`` writes acknowledged."""
    n = newest(i)
    ops = (r, n) if w is None else (r, w, n)
    text = (
        f"{read_phrase(r, t0)} returned {value_phrase(w, t0)}, but {n.write_id} had "
        f"been acknowledged at {at(n.complete, t0)} via {n.replica or '?'} "
        "before the read began"
    )
    if w is not None:
        text += f" (and was invoked at {at(n.invoke, t0)}, after {w.write_id} completed)"
    return Anomaly(STALE_READ, ops, text, t0)


def explain_ryw(r: Op, w: Op | None, mine: Op, t0: float) -> Anomaly:
    ops = (r, mine) if w is None else (r, mine, w)
    text = (
        f"{read_phrase(r, t0)} returned {value_phrase(w, t0)}, but {r.client} had "
        f"itself written {mine.write_id} (invoked at {at(mine.invoke, t0)}, acknowledged "
        f"at {at(mine.complete, t0)} via {mine.replica or '?'})"
    )
    if w is not None:
        text += f", which began after {w.write_id} completed"
    return Anomaly(READ_YOUR_WRITES, ops, text, t0)


def explain_monotonic(r: Op, w: Op | None, earlier: Op, newer: Op, t0: float) -> Anomaly:
    ops = (r, earlier, newer) if w is None else (r, earlier, newer, w)
    text = (
        f"{read_phrase(r, t0)} returned {value_phrase(w, t0)}, but {r.client} had "
        f"already read {newer.write_id} at {at(earlier.invoke, t0)} from "
        f"{earlier.replica or '?'}"
    )
    if w is not None:
        text += (
            f", and {newer.write_id} was invoked at {at(newer.invoke, t0)}, after "
            f"{w.write_id} completed"
        )
    return Anomaly(MONOTONIC_READ, ops, text, t0)
