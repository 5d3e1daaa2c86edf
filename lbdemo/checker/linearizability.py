"""Per-key linearizability of a read/write register with unique writes: the zone check.

Gibbons and Korach (1997) showed that for a register whose writes are all distinct, the question
"is there a legal total order?" needs no search. Group each write with the reads that returned
its value (a *cluster*); let ``f`` be the earliest completion and ``s`` the latest invocation in
the cluster. If ``f < s`` the cluster's operations must be linearized across all of ``[f, s]``: a
*forward zone*. Otherwise they can all be placed at any single point of ``[s, f]``: a *backward
zone*. The history is linearizable iff

1. no read completes before the write it returned was invoked,
2. no two forward zones overlap, and
3. no backward zone lies inside a forward zone.

Intervals include their ends, so equal timestamps are concurrent (the same rule as
:mod:`.anomalies`). The initial "absent" value is a write at -inf. An ``unknown`` write that
some read returned was applied; its completion is +inf (the client never learned when). One
nobody read may never have happened, so it is dropped. Sorting the zones makes the check
O(n log n) per key. The cluster data comes from the one pass of :mod:`.scan`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from lbdemo.checker.anomalies import garbage_reason
from lbdemo.history import Op

INF = math.inf
ABSENT = "absent (initial)"

_Zone = tuple[float, float, str]  # (f, s, name)
# [write (None: the initial value), earliest completion, latest invocation of its reads]
Cluster = list[Any]
_F = itemgetter(0)


@dataclass(frozen=True, slots=True)
class KeyVerdict:
    key: str
    linearizable: bool
    witness: str | None = None  # why not, in one sentence


def _t(x: float, t0: float) -> str:
    if x == -INF:
        return "-inf"
    if x == INF:
        return "+inf"
    return f"t={x - t0:.3f}s"


def garbage_verdict(key: str, r: Op, w: Op | None, t0: float) -> KeyVerdict:
    """A read of a value nobody wrote, a failed write's or with another price: no order fits."""
    return KeyVerdict(
        key,
        False,
        f"on {key} a read by {r.client} at {_t(r.invoke, t0)} "
        f"returned {r.write_id}, but {garbage_reason(r, w, t0)}",
    )


def early_verdict(key: str, r: Op, w: Op, t0: float) -> KeyVerdict:
    return KeyVerdict(
        key,
        False,
        f"on {key} a read by {r.client} returned {w.write_id} "
        f"and completed at {_t(r.complete, t0)}, before that write was "
        f"invoked at {_t(w.invoke, t0)}",
    )


def zones_verdict(key: str, clusters: Iterable[Cluster], t0: float) -> KeyVerdict:
    """Rules 2 and 3 for one key, given a cluster per value: [its write (None: the initial
    "absent"), the earliest completion and the latest invocation of the reads that returned it
    (+inf and -inf when none did)]."""
    forward: list[_Zone] = []
    backward: list[_Zone] = []
    for w, read_f, read_s in clusters:
        if w is None:
            if read_s != -INF:  # the initial value, read: a cluster from -inf
                forward.append((-INF, read_s, ABSENT))
            continue
        outcome = w.outcome
        if outcome == "fail":
            continue
        if read_s == -INF:
            if outcome != "ok":
                continue  # an unknown write nobody read may never have happened
            f, s = w.complete, w.invoke
        else:
            f = read_f
            if outcome == "ok" and w.complete < f:
                f = w.complete
            s = w.invoke if w.invoke > read_s else read_s
        (forward if f < s else backward).append((f, s, w.write_id or "?"))
    forward.sort(key=_F)

    # 2. Forward zones must be disjoint: sorted by start, each must begin after every
    # earlier one has ended.
    reach = -INF
    owner: _Zone | None = None
    fs: list[float] = []
    prefix_s: list[float] = []
    prefix_owner: list[_Zone] = []
    for zone in forward:
        f, s, name = zone
        if owner is not None and f < reach:
            of, os_, oname = owner
            return KeyVerdict(
                key,
                False,
                f"on {key} the forward zones of {oname} "
                f"[{_t(of, t0)}, {_t(os_, t0)}] and {name} "
                f"[{_t(f, t0)}, {_t(s, t0)}] overlap: each value was "
                "read after the other had been read",
            )
        if s > reach:
            reach, owner = s, zone
        fs.append(f)
        prefix_s.append(reach)
        prefix_owner.append(owner)  # type: ignore[arg-type]  # set on the first iteration

    # 3. A backward zone [s, f] inside a forward zone [F, S] (F < s and f < S): the forward
    # cluster needs all of [F, S] and leaves no room for it.
    for f, s, name in backward:
        i = bisect_left(fs, s)
        if i and prefix_s[i - 1] > f:
            ff, fs_, fname = prefix_owner[i - 1]
            return KeyVerdict(
                key,
                False,
                f"on {key} the zone of {name} "
                f"[{_t(s, t0)}, {_t(f, t0)}] lies inside the forward zone "
                f"of {fname} [{_t(ff, t0)}, {_t(fs_, t0)}]: {fname} "
                f"was still read after {name} had been seen or written",
            )
    return KeyVerdict(key, True)
