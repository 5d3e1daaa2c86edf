"""What the stale-read rate should be, from the parameters (docs/model.md has the derivation).

Private storage under round robin per request (:func:`private_stale_rate`): requests are
numbered in the order they reach the balancer; request ``i`` goes to replica ``i mod n``. Each
request is, independently, a write of a given key with probability ``p = write_ratio / keys``.
Every operation is in flight for ``C`` positions (``C``: the operations in flight at once,
Little's law), so write ``m`` precedes read ``j`` (completed before it began) exactly when
``j - m >= C``. A replica applies what reaches it in arrival order. The checker calls read ``j``
of a key stale when the newest write of that key that preceded it, at position ``a``, was
invoked after the value the replica returned had completed; so the read is fresh exactly when
its replica received a write of the key at a position in ``[a - C + 1, j - 1]``, or when no
write of the key preceded it at all. A write that reaches the read's replica just before the
read may not have committed when the read looks: ``visible_after`` moves the point where a
write takes effect from its arrival (0) to its acknowledgement (1); the two bound the rate.

The asynchronous standbys (:func:`pbs_stale_rate`), after Probabilistically Bounded Staleness
(Bailis et al., VLDB 2012): a read issued ``t`` after the newest preceding write of its key was
acknowledged misses it with the probability that the standby's lag exceeds ``t``; averaged over
the history's read-after-write gaps, with the lag distribution sampled on the primary.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

from lbdemo.history import OK, WRITE, History, Op

TAIL = 1e-12  # the geometric sum stops when what is left is below this
MAX_TERMS = 5_000_000
IN_FLIGHT_LOOKBACK = 8  # a replica's writes of one key still open when a read begins: a few


def _fresh_round_robin(g: int, n: int, c: int, p: float, hidden: int) -> float:
    """P(fresh | the newest preceding write is g positions back), round robin over n; the last
    ``hidden`` positions before the read hold writes not yet visible."""
    if g % n == 0:
        return 1.0  # that write itself went to the read's replica
    # writes on the read's replica (positions congruent to j mod n) in the two windows
    after = (c - 1) // n - hidden // n  # [j - c + 1, j - 1 - hidden]
    r = (-g) % n  # [a - c + 1, a - 1]: positions a - s with s = r (mod n), 1 <= s <= c - 1
    before = 0 if r > c - 1 else (c - 1 - r) // n + 1
    return 1.0 - (1.0 - p) ** (after + before)


def _fresh_random(g: int, n: int, c: int, p: float, hidden: int) -> float:
    """The same with every request sent to a replica chosen at random."""
    return 1.0 - (1.0 - 1.0 / n) * (1.0 - p / n) ** (2 * (c - 1) - hidden)


def _stale_at(
    n: int, c: int, p: float, ops: int | None, random: bool, visible_after: float
) -> float:
    c = max(c, 1)
    hidden = round(visible_after * (c - 1))
    fresh = _fresh_random if random else _fresh_round_robin
    total = 0.0
    for k in range(MAX_TERMS):  # g = c + k: positions (a, j - c] hold no write of the key
        g = c + k
        weight = p * (1.0 - p) ** k
        if weight < TAIL:
            break
        if ops is not None:
            if g >= ops:
                break
            weight *= (ops - g) / ops  # the first reads of a run: no write preceded them yet
        total += weight * (1.0 - fresh(g, n, c, p, hidden))
    return total


def private_stale_rate(
    replicas: int,
    keys: int,
    write_ratio: float,
    in_flight: float,
    *,
    strategy: str = "round-robin",
    ops: int | None = None,
    visible_after: float = 0.0,
) -> float | None:
    """The expected share of reads that are stale, for private storage (None: no model for the
    strategy). ``in_flight``: operations in flight at once (from Little's law: throughput ×
    mean latency, measured; about the users with no think time); ``ops``: the run's operations,
    for its first reads (None: a run long enough that they do not count); ``visible_after``:
    where in its interval a write takes effect on its replica, 0 as it arrives (the model's
    assumption; the fewest stale reads) to 1 as it is acknowledged (the most)."""
    if strategy not in ("round-robin", "random"):
        return None
    if replicas <= 1:
        return 0.0  # one replica, one store: every read sees every acknowledged write
    p = write_ratio / keys
    if p <= 0.0:
        return 0.0
    random = strategy == "random"
    low = math.floor(in_flight)
    below = _stale_at(replicas, low, p, ops, random, visible_after)
    share = in_flight - low
    if share == 0.0:
        return below
    above = _stale_at(replicas, low + 1, p, ops, random, visible_after)
    return below + share * (above - below)  # C between two whole numbers: linear between them


def in_flight(history: History) -> float:
    """Operations in flight at once, on average (Little's law): their summed durations over the
    span of the history."""
    ops = history.ops
    if not ops:
        return 0.0
    span = max(op.complete for op in ops) - min(op.invoke for op in ops)
    busy = sum(op.complete - op.invoke for op in ops)
    return busy / span if span > 0 else 0.0


def read_gaps_ms(history: History) -> list[float | None]:
    """Per observed read: ms from the acknowledgement of the newest write of its key that
    completed before the read began (None: none had): the ``t`` of PBS's t-visibility."""
    acked: dict[str, list[float]] = {}
    for op in history.ops:
        if op.op == WRITE and op.outcome == OK:
            acked.setdefault(op.key, []).append(op.complete)
    for completes in acked.values():
        completes.sort()
    gaps: list[float | None] = []
    for op in history.ops:
        if op.op == WRITE or op.outcome != OK:
            continue
        completes = acked.get(op.key, [])
        i = bisect_left(completes, op.invoke)  # completes[:i] ended strictly before the read
        gaps.append((op.invoke - completes[i - 1]) * 1000.0 if i else None)
    return gaps


def missed_in_flight(history: History) -> float | None:
    """Of the reads that began while a write of their key, invoked earlier, was still in flight
    on their own replica, the share that returned none of those writes: how often a write was
    not yet visible to a read that reached its replica after it (assumption 4 of
    docs/model.md; 0 would be "visible on arrival", 1 "only once acknowledged"). None: no such
    read. Invocation order stands in for arrival order at the replica."""
    ops_of: dict[tuple[str, str | None], list[Op]] = {}
    invoked: dict[str, float] = {}
    for op in history.ops:
        ops_of.setdefault((op.key, op.replica), []).append(op)
        if op.op == WRITE and op.write_id is not None:
            invoked[op.write_id] = op.invoke
    had = missed = 0
    for (_, replica), ops in ops_of.items():
        if replica is None:
            continue
        writes: list[Op] = []
        for op in ops:  # in invocation order
            if op.op == WRITE:
                writes.append(op)
                continue
            if op.outcome != OK:
                continue
            open_writes = [w for w in writes[-IN_FLIGHT_LOOKBACK:] if w.complete > op.invoke]
            if not open_writes:
                continue
            had += 1
            seen = invoked.get(op.write_id, -math.inf) if op.write_id is not None else -math.inf
            missed += all(seen < w.invoke for w in open_writes)
    return missed / had if had else None


def pbs_textbook_rate(lags_ms: Sequence[float], gaps_ms: Iterable[float | None]) -> float | None:
    """PBS as published: for each read issued t after the newest preceding acknowledgement,
    P(lag > t); a read with no write before it counts as fresh. None without lags or reads."""
    # No write before the read: no lag can exceed an infinite gap, so it adds 0 and counts.
    return pbs_stale_rate(lags_ms, (math.inf if gap is None else gap for gap in gaps_ms))


def stale_thresholds_ms(
    history: History, commit_at: float = 0.5, snapshot_at: float = 0.5
) -> list[float]:
    """Per observed read: the smallest standby lag (ms) that makes it stale by the checker's
    rule (inf: none can). A write commits ``commit_at`` of the way through its operation, and
    the read takes its snapshot ``snapshot_at`` of the way through its own (0: at the start, 1:
    at the end; 0.5 is PBS's WARS split when the way there and the way back take as long).

    The read returns the newest write committed at least ``lag`` before its snapshot; it is
    stale when that write completed before the newest write acknowledged before the read was
    invoked. So it is fresh while the standby holds any write that did not complete before
    that one began: the threshold is the snapshot minus the earliest commit among them."""
    out: list[float] = []
    for ops in history.by_key().values():
        acked = sorted((op for op in ops if op.op == WRITE and op.outcome == OK), key=_done)
        completes = [w.complete for w in acked]
        newest, best = [], -math.inf  # newest[i]: the latest invocation among acked[:i + 1]
        for w in acked:
            best = max(best, w.invoke)
            newest.append(best)
        earliest = [w.invoke + commit_at * (w.complete - w.invoke) for w in acked]
        for i in range(len(earliest) - 2, -1, -1):  # the earliest commit from acked[i] on
            earliest[i] = min(earliest[i], earliest[i + 1])
        for r in ops:
            if r.op == WRITE or r.outcome != OK:
                continue
            i = bisect_left(completes, r.invoke)  # acked[:i] completed before the read began
            if not i:
                out.append(math.inf)  # no write before it: never stale
                continue
            j = bisect_left(completes, newest[i - 1])  # acked[j:] not older than the newest
            snapshot = r.invoke + snapshot_at * (r.complete - r.invoke)
            out.append((snapshot - earliest[j]) * 1000.0)
    return out


def _done(op: Op) -> float:
    return op.complete


def pbs_stale_rate(lags_ms: Sequence[float], thresholds_ms: Iterable[float]) -> float | None:
    """The share of reads expected stale: the mean over the reads of P(lag > threshold) over
    the lag samples. None without lag samples or reads."""
    lags = sorted(lags_ms)
    if not lags:
        return None
    total, reads = 0.0, 0
    for threshold in thresholds_ms:
        reads += 1
        total += (len(lags) - bisect_right(lags, threshold)) / len(lags)
    return total / reads if reads else None
