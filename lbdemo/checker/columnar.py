"""``check_columns``: :func:`lbdemo.checker.check` over a history held as columns.

Most keys of most histories have no anomaly at all, and proving that takes a few whole-array
passes per key (numpy) instead of a Python loop over every operation. Per key, in invocation
order:

- *garbage* and *early* reads, exactly: each read's write found by its id in one lookup;
- *stale* reads, exactly: the rule of :mod:`.scan` (the acknowledged writes by completion, a
  prefix maximum of their invocations, one binary search per read), vectorised;
- *read-your-writes*: nothing to do, one is always a stale read too (the client's own write
  preceded the read, so the newest preceding write was invoked at least as late);
- *monotonic* reads, conservatively: a read is suspect when it returned a value older than one
  the same client read earlier on the key, even one read at the very instant this read began
  (which :mod:`.scan` calls concurrent);
- the zone check of :mod:`.linearizability`, exactly, with sorted arrays.

A key where all of that finds nothing is linearizable and has no anomaly: the same verdict and
counts :func:`.scan.scan_key` gives it. Every other key (or suspect one) goes through
:func:`.scan.scan_key` itself, over its operations made into :class:`Op` objects, so every
anomaly, witness and sentence is the one the general path finds; the explanation's second
scan sees the same offending objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lbdemo.checker.anomalies import (
    GARBAGE_READ,
    MONOTONIC_READ,
    READ_YOUR_WRITES,
    STALE_READ,
    AnomalyLog,
    Found,
)
from lbdemo.checker.audit import Audit, find_lost_writes
from lbdemo.checker.linearizability import KeyVerdict
from lbdemo.checker.result import CheckResult, gc_paused
from lbdemo.checker.scan import Scan, scan_key
from lbdemo.history import Op
from lbdemo.history.columns import (
    FAIL_CODE,
    OK_CODE,
    UNKNOWN_CODE,
    WRITE_CODE,
    Floats,
    Indices,
    OpColumns,
)

INF = np.inf


def check_columns(
    h: OpColumns, audit: Audit | None = None, *, sample_limit: int = 20
) -> CheckResult:
    """The :class:`CheckResult` :func:`lbdemo.checker.check` gives for the same history."""
    with gc_paused():
        log = AnomalyLog(sample_limit=sample_limit)
        scanned = _ColumnScan(h).run(log)
        if audit is not None:
            writes = np.flatnonzero((h.op == WRITE_CODE) & (h.outcome != FAIL_CODE))
            find_lost_writes(h.ops(writes), audit, log, h.t0)
        return CheckResult.of(log, scanned, audit)


@dataclass(slots=True)
class _ColumnScan:
    h: OpColumns
    rows: dict[str, Indices] = field(default_factory=dict)
    # Each offending operation by row: the explanation's second scan must meet the same object.
    offenders: dict[int, Op] = field(default_factory=dict)

    def run(self, log: AnomalyLog) -> Scan:
        h = self.h
        self.rows = h.rows_by_key()
        result = Scan()
        found = log.found
        sinks = (
            found[STALE_READ],
            found[READ_YOUR_WRITES],
            found[MONOTONIC_READ],
            found[GARBAGE_READ],
        )
        # The row of the write of each write id (-1: no write carries it).
        writer = np.full(len(h.write_ids), -1, dtype=np.intp)
        writes = np.flatnonzero(h.op == WRITE_CODE)
        writer[h.write_id[writes]] = writes
        none_code = h.write_ids.index(None) if None in h.write_ids else -1
        for key, rows in self.rows.items():
            if _clean(h, rows, writer, none_code):
                result.keys[key] = KeyVerdict(key, True)
                outcome, is_write = h.outcome[rows], h.op[rows] == WRITE_CODE
                result.reads += int(np.count_nonzero(~is_write & (outcome == OK_CODE)))
                result.acknowledged_writes += int(np.count_nonzero(is_write & (outcome == OK_CODE)))
                result.unknown_writes += int(np.count_nonzero(is_write & (outcome == UNKNOWN_CODE)))
                result.failed_ops += int(np.count_nonzero(outcome == FAIL_CODE))
                continue
            ops = h.ops(rows)
            before = [len(sink) for sink in sinks]
            result.keys[key] = scan_key(key, ops, sinks, self.h.t0, result)
            if any(len(sink) > n for sink, n in zip(sinks, before, strict=True)):
                row_of = {id(op): row for op, row in zip(ops, rows.tolist(), strict=True)}
                for sink, n in zip(sinks, before, strict=True):
                    for op in sink[n:]:
                        self.offenders[row_of[id(op)]] = op
        log.rescan = self.rescan
        return result

    def rescan(self, key: str) -> dict[str, list[Found]]:
        """One key's read anomalies again, explained, over the same offending objects."""
        rows = self.rows[key]
        ops = self.h.ops(rows)
        for i, row in enumerate(rows.tolist()):
            op = self.offenders.get(row)
            if op is not None:
                ops[i] = op
        sinks: tuple[list[Found], list[Found], list[Found], list[Found]] = ([], [], [], [])
        scan_key(key, ops, sinks, self.h.t0, Scan(), explained=True)
        kinds = (STALE_READ, READ_YOUR_WRITES, MONOTONIC_READ, GARBAGE_READ)
        return dict(zip(kinds, sinks, strict=True))


def _clean(h: OpColumns, rows: Indices, writer: Indices, none_code: int) -> bool:
    """Whether the key of ``rows`` (in invocation order) surely has no anomaly and passes the
    zone check; False when it has one, or may have (see the module docstring)."""
    op, outcome = h.op[rows], h.outcome[rows]
    is_write = op == WRITE_CODE
    read_rows = rows[~is_write & (outcome == OK_CODE)]  # reads that observed something
    r_invoke, r_complete = h.invoke[read_rows], h.complete[read_rows]
    r_id = h.write_id[read_rows]
    found = r_id != none_code  # not "not found"
    w_of = writer[r_id]  # the row of each read's write (-1: none)
    key = h.key[rows[0]]
    w_safe = np.where(w_of >= 0, w_of, 0)
    # Garbage: a value no write on this key carries, a failed write's, or another price.
    bad = found & (
        (w_of < 0)
        | (h.key[w_safe] != key)
        | (h.outcome[w_safe] == FAIL_CODE)
        | (h.price[w_safe] != h.price[read_rows])
    )
    if bad.any() and _prices_differ(h, read_rows[bad], w_safe[bad]):
        return False
    # Early: a read that completed before its value's write was invoked.
    w_invoke = np.where(found, h.invoke[w_safe], -INF)
    if (r_complete < w_invoke).any():
        return False
    # The completion of each value's write: -inf for "not found", +inf for an unknown write.
    w_outcome = h.outcome[w_safe]
    vc = np.where(found, np.where(w_outcome == OK_CODE, h.complete[w_safe], INF), -INF)
    # Stale: the newest acknowledged write that completed before the read began.
    acked = rows[is_write & (outcome == OK_CODE)]
    by_completion = np.argsort(h.complete[acked], kind="stable")
    completes = h.complete[acked][by_completion]
    newest = np.maximum.accumulate(h.invoke[acked][by_completion])
    i = np.searchsorted(completes, r_invoke, side="left")
    if len(newest) and ((i > 0) & (newest[np.maximum(i - 1, 0)] > vc)).any():
        return False
    if _monotonic_suspect(h.client[read_rows], w_invoke, found, vc):
        return False
    return _zones_clean(h, rows[is_write], read_rows, w_of, found, r_invoke, r_complete)


def _prices_differ(h: OpColumns, reads: Indices, writes: Indices) -> bool:
    """Whether any of these reads is garbage after all: codes differ for 1 and 1.0, which
    compare equal (as :mod:`.scan` compares them)."""
    for r, w in zip(reads.tolist(), writes.tolist(), strict=True):
        if (
            w < 0
            or h.key[w] != h.key[r]
            or h.outcome[w] == FAIL_CODE
            or h.prices[h.price[w]] != h.prices[h.price[r]]
        ):
            return True
    return False


def _monotonic_suspect(
    clients: np.ndarray, w_invoke: Floats, found: np.ndarray, vc: Floats
) -> bool:
    """Whether a read returned a value whose write completed before the latest invocation of
    a write whose value the same client read earlier (reads in invocation order)."""
    if not found.any():
        return False
    by_client = np.argsort(clients, kind="stable")
    c = clients[by_client]
    # Each read's value as its rank among the values' invocations (0: "not found"), shifted
    # by its client's group so that one running maximum serves every client at once.
    values = np.unique(w_invoke[found])
    rank = np.where(found, np.searchsorted(values, w_invoke) + 1, 0)[by_client]
    group = np.cumsum(np.concatenate(([0], c[1:] != c[:-1])))
    span = len(values) + 2
    running = np.maximum.accumulate(rank + group * span)
    earlier = running[:-1] - group[1:] * span  # the best rank read before, same client
    same = group[1:] == group[:-1]
    suspect = same & (earlier > 0)
    if not suspect.any():
        return False
    best = values[np.maximum(earlier, 1) - 1]
    return bool((suspect & (vc[by_client][1:] < best)).any())


def _zones_clean(
    h: OpColumns,
    write_rows: Indices,
    read_rows: Indices,
    w_of: Indices,
    found: np.ndarray,
    r_invoke: Floats,
    r_complete: Floats,
) -> bool:
    """The zone check (:func:`.linearizability.zones_verdict`): True when it finds nothing."""
    w_invoke, w_complete = h.invoke[write_rows], h.complete[write_rows]
    w_outcome = h.outcome[write_rows]
    # Each value's cluster: the earliest completion and latest invocation of its reads.
    position = np.empty(len(h), dtype=np.intp)
    position[write_rows] = np.arange(len(write_rows))
    at = position[w_of[found]]
    read_f = np.full(len(write_rows), INF)
    read_s = np.full(len(write_rows), -INF)
    np.minimum.at(read_f, at, r_complete[found])
    np.maximum.at(read_s, at, r_invoke[found])
    was_read = read_s != -INF
    ok = w_outcome == OK_CODE
    keep = (w_outcome != FAIL_CODE) & (was_read | ok)
    f = np.where(was_read, np.where(ok, np.minimum(read_f, w_complete), read_f), w_complete)
    s = np.where(was_read, np.maximum(w_invoke, read_s), w_invoke)
    f, s = f[keep], s[keep]
    if not found.all():  # the initial value was read: a forward zone from -inf
        f = np.concatenate(([-INF], f))
        s = np.concatenate(([r_invoke[~found].max()], s))
    forward = f < s
    by_start = np.argsort(f[forward], kind="stable")
    fs, reach = f[forward][by_start], np.maximum.accumulate(s[forward][by_start])
    # 2. Forward zones disjoint: each begins after every earlier one has ended.
    if len(fs) > 1 and (fs[1:] < reach[:-1]).any():
        return False
    # 3. No backward zone [s, f] inside a forward one.
    if len(fs):
        bf, bs = f[~forward], s[~forward]
        i = np.searchsorted(fs, bs, side="left")
        if ((i > 0) & (reach[np.maximum(i - 1, 0)] > bf)).any():
            return False
    return True
