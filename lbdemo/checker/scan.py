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

The loop does only what needs the invocation order; everything else (splitting writes from
reads, the zone check's earliest completion and latest invocation per value) runs as passes in
C (``compress``, ``accumulate``, ``dict(zip(...))``). A million operations take about a second.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from itertools import accumulate, compress
from operator import attrgetter

from lbdemo.checker.anomalies import (
    GARBAGE_READ,
    MONOTONIC_READ,
    READ_YOUR_WRITES,
    STALE_READ,
    AnomalyLog,
    explain_garbage,
    explain_monotonic,
    explain_ryw,
    explain_stale,
)
from lbdemo.checker.linearizability import (
    KeyVerdict,
    early_verdict,
    garbage_verdict,
    zones_verdict,
)
from lbdemo.history import FAIL, OK, READ, WRITE, Op

INF = math.inf
NEG = -math.inf
_INVOKE = attrgetter("invoke")
_COMPLETE = attrgetter("complete")
_KIND = attrgetter("op")
_OUTCOME = attrgetter("outcome")
_WRITE_ID = attrgetter("write_id")

# The newest value a client has read on a key, newest first:
# (invoke of that value's write, the read, the write, the chain before this read).
_Seen = tuple[float, Op, Op, "_Seen | None"]


def group_by_key(ops: list[Op]) -> dict[str, list[Op]]:
    """Each key's operations, in the order of ``ops``; every check here is per key."""
    groups: dict[str, list[Op]] = {}
    get = groups.get
    for op in ops:
        g = get(op.key)
        if g is None:
            groups[op.key] = [op]
        else:
            g.append(op)
    return groups


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


def scan_key(key: str, ops: list[Op], log: AnomalyLog, t0: float) -> KeyVerdict:
    """Add the read anomalies of one key's operations (in invocation order) to ``log``, and
    return the key's linearizability verdict."""
    writes = list(compress(ops, map(WRITE.__eq__, map(_KIND, ops))))
    by_id: dict[str | None, Op] = dict(zip(map(_WRITE_ID, writes), writes, strict=True))
    acked = list(compress(writes, map(OK.__eq__, map(_OUTCOME, writes))))
    acked.sort(key=_COMPLETE)
    completes = list(map(_COMPLETE, acked))
    newest_invoke = list(accumulate(map(_INVOKE, acked), max))
    newest = _Newest(acked)
    found = log.found
    stale, ryw, monotonic, garbage = (
        found[STALE_READ], found[READ_YOUR_WRITES], found[MONOTONIC_READ], found[GARBAGE_READ]
    )
    first_garbage = len(garbage)
    early: tuple[Op, Op] | None = None

    own: dict[str, Op] = {}  # client -> its latest acknowledged write on this key
    seen: dict[str, _Seen] = {}
    own_get, seen_get = own.get, seen.get

    for r in ops:
        client = r.client
        if r.op == WRITE:
            if r.outcome == OK:
                own[client] = r
            continue
        if r.outcome != OK:
            continue  # a read that got no answer observed nothing
        t = r.invoke
        wid = r.write_id
        if wid is None:
            w = None
            vc = NEG
        else:
            w = by_id.get(wid)
            if w is None or w.outcome == FAIL or w.price != r.price:
                garbage.append((r, explain_garbage, (w, t0)))
                continue
            vc = w.complete if w.outcome == OK else INF
            if r.complete < w.invoke and early is None:
                early = (r, w)

        i = bisect_left(completes, t)  # acked[:i] completed strictly before r began
        if i and newest_invoke[i - 1] > vc:
            stale.append((r, explain_stale, (w, newest, i, t0)))

        mine = own_get(client)
        if mine is not None:
            if mine.complete >= t:  # completed at the instant r began: concurrent, not before
                mine = _own_before(acked, i, client)
            if mine is not None and vc < mine.invoke:
                ryw.append((r, explain_ryw, (w, mine, t0)))

        head = seen_get(client)
        if head is not None:
            prev: _Seen | None = head
            while prev is not None and prev[1].complete >= t:
                prev = prev[3]
            if prev is not None and vc < prev[0]:
                monotonic.append((r, explain_monotonic, (w, prev[1], prev[2], t0)))
            if w is not None and w.invoke > head[0]:
                seen[client] = (w.invoke, r, w, head)
        elif w is not None:
            seen[client] = (w.invoke, r, w, None)

    if len(garbage) > first_garbage:
        r, _, (w, _) = garbage[first_garbage]
        return garbage_verdict(key, r, w, t0)
    if early is not None:
        return early_verdict(key, early[0], early[1], t0)
    # The zone check's clusters, per value read: dict(zip(...)) keeps the last pair of each
    # value, so feeding reads by decreasing completion keeps the earliest completion, and in
    # invocation order the latest invocation.
    reads = list(compress(ops, map(READ.__eq__, map(_KIND, ops))))
    reads = list(compress(reads, map(OK.__eq__, map(_OUTCOME, reads))))
    last_invoke = dict(zip(map(_WRITE_ID, reads), map(_INVOKE, reads), strict=True))
    reads.sort(key=_COMPLETE, reverse=True)
    first_complete = dict(zip(map(_WRITE_ID, reads), map(_COMPLETE, reads), strict=True))
    return zones_verdict(key, writes, first_complete, last_invoke, t0)
