"""One pass over each key's operations: the read anomalies and the zone check's clusters.

For a read ``r`` of value ``v`` (written by ``w_v``, completion ``c_v``: +inf for an unknown
write, -inf for "not found"), with "precedes" meaning "completed strictly before ... was
invoked":

- *stale*: an acknowledged write preceding ``r`` was invoked after ``c_v``. Per key the
  acknowledged writes are sorted by completion with a prefix maximum of their invocations, so
  "the newest write that preceded ``r``" is one binary search: O(n log n).
- *read-your-writes*: the client's latest own acknowledged write on the key that precedes ``r``
  was invoked after ``c_v``.
- *monotonic*: among the client's earlier reads of the key that precede ``r``, one returned a
  value whose write was invoked after ``c_v``.
- *garbage*: ``v`` was written by no write on the key, by a failed one, or with another price.

A client issues one operation at a time, so all its earlier operations completed at or before
``r`` was invoked; only those that completed at exactly that instant are concurrent with ``r``.
They are the newest ones, so the rare check that meets one steps back past them (a chain of the
values a client has read; the completion-sorted writes for its own writes). Every anomaly found
here makes the key non-linearizable too.

The check goes key by key: a history of a million operations does not fit in the processor's
caches, but one key's operations and dictionaries do, and the loop over them touches each
operation once (``attrgetter`` passes in C are no faster here: msgspec attributes are read
fastest by the interpreter's own specialised attribute load).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from lbdemo.checker.anomalies import (
    GARBAGE_READ,
    MONOTONIC_READ,
    READ_YOUR_WRITES,
    STALE_READ,
    AnomalyLog,
    Found,
    explain_garbage,
    explain_monotonic,
    explain_ryw,
    explain_stale,
)
from lbdemo.checker.linearizability import (
    Cluster,
    KeyVerdict,
    early_verdict,
    garbage_verdict,
    zones_verdict,
)
from lbdemo.history import FAIL, OK, UNKNOWN, WRITE, Op

INF = math.inf
NEG = -math.inf

# The newest value a client has read on a key, newest first:
# (invoke of that value's write, the read, the write, the chain before this read).
_Seen = tuple[float, Op, Op, "_Seen | None"]


class _Newest:
    """The key's acknowledged writes by completion; ``__call__(i)``: the newest of the first i
    (the latest invocation, the earliest such in completion order)."""

    __slots__ = ("_acked", "_argmax")

    def __init__(self, acked: list[Op]) -> None:
        self._acked = acked
        self._argmax: list[Op] | None = None

    def __call__(self, i: int) -> Op:
        if self._argmax is None:  # built once per key, only if a sentence is wanted
            best, best_op, out = NEG, self._acked[0], []
            for w in self._acked:
                if w.invoke > best:
                    best, best_op = w.invoke, w
                out.append(best_op)
            self._argmax = out
        return self._argmax[i - 1]


def _own_before(acked: list[Op], i: int, client: str) -> Op | None:
    """The client's latest acknowledged write among ``acked[:i]`` (those before the read)."""
    for w in reversed(acked[:i]):
        if w.client == client:
            return w
    return None


@dataclass(slots=True)
class Scan:
    """The scan's result: a verdict per key and the operations counted by kind and outcome."""

    keys: dict[str, KeyVerdict] = field(default_factory=dict)
    reads: int = 0  # reads that observed something (outcome ok)
    acknowledged_writes: int = 0
    unknown_writes: int = 0
    failed_ops: int = 0


def scan(groups: dict[str, list[Op]], log: AnomalyLog, t0: float) -> Scan:
    """Add every read anomaly of each key's operations (in invocation order) to ``log``; judge
    every key."""
    result = Scan()
    found = log.found
    sinks = (found[STALE_READ], found[READ_YOUR_WRITES], found[MONOTONIC_READ], found[GARBAGE_READ])
    for key in sorted(groups):
        result.keys[key] = scan_key(key, groups[key], sinks, t0, result)
    log.rescan = partial(rescan_key, groups, t0)
    return result


def rescan_key(groups: dict[str, list[Op]], t0: float, key: str) -> dict[str, list[Found]]:
    """One key's read anomalies again, each with what explains it (for AnomalyLog)."""
    sinks: tuple[list[Found], list[Found], list[Found], list[Found]] = ([], [], [], [])
    scan_key(key, groups[key], sinks, t0, Scan(), explained=True)
    return dict(
        zip((STALE_READ, READ_YOUR_WRITES, MONOTONIC_READ, GARBAGE_READ), sinks, strict=True)
    )


def _complete(op: Op) -> float:
    return op.complete


def scan_key(
    key: str,
    ops: list[Op],
    sinks: tuple[list[Any], list[Any], list[Any], list[Any]],
    t0: float,
    tally: Scan,
    *,
    explained: bool = False,
) -> KeyVerdict:
    """Append the read anomalies of one key's operations (in invocation order) to ``sinks``
    (stale, read-your-writes, monotonic, garbage), count them into ``tally``, and return the
    key's linearizability verdict.

    Each anomaly is appended as its offending read, or with ``explained`` as the Found entry
    that explains it (offender, explain function, arguments). The two differ in nothing else.
    """
    writes = [op for op in ops if op.op == WRITE]
    # Per value (None: "not found"): [its write, the earliest completion and the latest
    # invocation of the reads that returned it]: one dictionary hit per read finds the write
    # and the zone check's cluster.
    clusters: dict[str | None, Cluster] = {None: [None, INF, NEG]}
    for w in writes:
        clusters[w.write_id] = [w, INF, NEG]
    acked = [w for w in writes if w.outcome == OK]
    acked.sort(key=_complete)
    completes = [w.complete for w in acked]
    newest_invoke: list[float] = []
    best = NEG
    for a in acked:
        if a.invoke > best:
            best = a.invoke
        newest_invoke.append(best)
    newest = _Newest(acked)
    stale, ryw, monotonic, garbage = sinks
    first_garbage = len(garbage)
    early: tuple[Op, Op] | None = None
    # Per client: [its latest acknowledged write on this key, the chain of values it read].
    clients: dict[str, list[Any]] = {}
    clients_get, clusters_get = clients.get, clusters.get
    reads = unknown = failed = 0

    for r in ops:
        outcome = r.outcome
        if r.op == WRITE:
            if outcome == OK:
                pc = clients_get(r.client)
                if pc is None:
                    clients[r.client] = [r, None]
                else:
                    pc[0] = r
            elif outcome == UNKNOWN:
                unknown += 1
            else:
                failed += 1
            continue
        if outcome != OK:
            failed += outcome == FAIL
            continue  # a read that got no answer observed nothing
        reads += 1
        t = r.invoke
        cluster = clusters_get(r.write_id)
        if cluster is None:
            garbage.append((r, explain_garbage, (None, t0)) if explained else r)
            continue
        w = cluster[0]
        if w is None:
            vc = NEG
        else:
            if w.outcome == FAIL or w.price != r.price:
                garbage.append((r, explain_garbage, (w, t0)) if explained else r)
                continue
            vc = w.complete if w.outcome == OK else INF
            if r.complete < w.invoke and early is None:
                early = (r, w)
        if r.complete < cluster[1]:
            cluster[1] = r.complete
        cluster[2] = t

        i = bisect_left(completes, t)  # acked[:i] completed strictly before r began
        if i and newest_invoke[i - 1] > vc:
            stale.append((r, explain_stale, (w, newest, i, t0)) if explained else r)

        pc = clients_get(r.client)
        if pc is None:
            if w is not None:
                clients[r.client] = [None, (w.invoke, r, w, None)]
            continue
        mine = pc[0]
        if mine is not None:
            if mine.complete >= t:  # completed at the instant r began: concurrent, not before
                mine = _own_before(acked, i, r.client)
            if mine is not None and vc < mine.invoke:
                ryw.append((r, explain_ryw, (w, mine, t0)) if explained else r)
        head = pc[1]
        if head is not None:
            prev: _Seen | None = head
            while prev is not None and prev[1].complete >= t:
                prev = prev[3]
            if prev is not None and vc < prev[0]:
                monotonic.append(
                    (r, explain_monotonic, (w, prev[1], prev[2], t0)) if explained else r
                )
            if w is not None and w.invoke > head[0]:
                pc[1] = (w.invoke, r, w, head)
        elif w is not None:
            pc[1] = (w.invoke, r, w, None)

    tally.reads += reads
    tally.acknowledged_writes += len(acked)
    tally.unknown_writes += unknown
    tally.failed_ops += failed
    if len(garbage) > first_garbage:
        first = garbage[first_garbage]
        r = first[0] if explained else first
        cluster = clusters_get(r.write_id)
        return garbage_verdict(key, r, None if cluster is None else cluster[0], t0)
    if early is not None:
        return early_verdict(key, early[0], early[1], t0)
    return zones_verdict(key, clusters.values(), t0)
