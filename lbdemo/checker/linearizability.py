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

The initial "absent" value is a write at -inf. An ``unknown`` write that some read returned was
applied; its completion is +inf (the client never learned when). One nobody read may never have
happened, so it is dropped. Sorting the zones makes the check O(n log n) per key.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from lbdemo.history import Op

INF = math.inf
ABSENT = "absent (initial)"


@dataclass(frozen=True, slots=True)
class KeyVerdict:
    key: str
    linearizable: bool
    witness: str | None = None  # why not, in one sentence


class _Cluster:
    __slots__ = ("f", "name", "read", "s", "write")

    def __init__(self, name: str, f: float, s: float, write: Op | None) -> None:
        self.name = name
        self.f = f  # earliest completion
        self.s = s  # latest invocation
        self.write = write
        self.read = False


def _t(x: float, t0: float) -> str:
    if x == -INF:
        return "-inf"
    if x == INF:
        return "+inf"
    return f"t={x - t0:.3f}s"


def key_verdict(key: str, ops: list[Op], t0: float) -> KeyVerdict:
    """The verdict for one key, given all of its operations (in any order)."""
    clusters: dict[str | None, _Cluster] = {None: _Cluster(ABSENT, -INF, -INF, None)}
    for w in ops:
        if w.op == "write" and w.outcome != "fail":
            f = w.complete if w.outcome == "ok" else INF
            clusters[w.write_id] = _Cluster(w.write_id or "?", f, w.invoke, w)
    get = clusters.get
    early: tuple[Op, Op] | None = None
    for r in ops:
        if r.op != "read" or r.outcome != "ok":
            continue
        c = get(r.write_id)
        if c is None or (c.write is not None and r.price != c.write.price):
            # A value nobody wrote (or a failed write's): no legal order can produce it.
            return KeyVerdict(key, False, f"on {key} a read by {r.client} at "
                              f"{_t(r.invoke, t0)} returned {r.write_id}, which no write "
                              "produced")
        c.read = True
        if r.complete < c.f:
            c.f = r.complete
        if r.invoke > c.s:
            c.s = r.invoke
        if early is None and c.write is not None and r.complete < c.write.invoke:
            early = (r, c.write)
    if early is not None:
        r, w = early
        return KeyVerdict(key, False, f"on {key} a read by {r.client} returned {w.write_id} "
                          f"and completed at {_t(r.complete, t0)}, before that write was "
                          f"invoked at {_t(w.invoke, t0)}")
    return _zones_verdict(key, clusters.values(), t0)


def _zones_verdict(key: str, clusters: Iterable[_Cluster], t0: float) -> KeyVerdict:
    forward: list[_Cluster] = []
    backward: list[_Cluster] = []
    for c in clusters:
        if not c.read and (c.write is None or c.write.outcome == "unknown"):
            # The initial value never observed, or an unknown write nobody read (it may
            # never have happened): neither constrains anything.
            continue
        (forward if c.f < c.s else backward).append(c)
    forward.sort(key=lambda c: c.f)

    # 2. Forward zones must be disjoint: sorted by start, each must begin after every
    # earlier one has ended.
    reach = -INF
    owner: _Cluster | None = None
    fs: list[float] = []
    prefix_s: list[float] = []
    prefix_owner: list[_Cluster] = []
    for c in forward:
        if owner is not None and c.f < reach:
            return KeyVerdict(key, False, f"on {key} the forward zones of {owner.name} "
                              f"[{_t(owner.f, t0)}, {_t(owner.s, t0)}] and {c.name} "
                              f"[{_t(c.f, t0)}, {_t(c.s, t0)}] overlap: each value was "
                              "read after the other had been read")
        if c.s > reach:
            reach, owner = c.s, c
        fs.append(c.f)
        prefix_s.append(reach)
        prefix_owner.append(owner)  # type: ignore[arg-type]  # set on the first iteration

    # 3. A backward zone [s, f] inside a forward zone [F, S] (F < s and f < S): the forward
    # cluster needs all of [F, S] and leaves no room for it.
    for b in backward:
        i = bisect_left(fs, b.s)
        if i and prefix_s[i - 1] > b.f:
            fz = prefix_owner[i - 1]
            return KeyVerdict(key, False, f"on {key} the zone of {b.name} "
                              f"[{_t(b.s, t0)}, {_t(b.f, t0)}] lies inside the forward zone "
                              f"of {fz.name} [{_t(fz.f, t0)}, {_t(fz.s, t0)}]: {fz.name} "
                              f"was still read after {b.name} had been seen or written")
    return KeyVerdict(key, True)


def check_linearizability(ops: list[Op], t0: float) -> dict[str, KeyVerdict]:
    """The verdict for every key that ``ops`` touch (``ops`` in any order)."""
    groups: dict[str, list[Op]] = {}
    for op in ops:
        groups.setdefault(op.key, []).append(op)
    return {key: key_verdict(key, kops, t0) for key, kops in sorted(groups.items())}
