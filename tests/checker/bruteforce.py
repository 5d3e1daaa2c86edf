"""An independent, exponential linearizability checker for one register: the property tests'
reference. It shares nothing with lbdemo.checker but the Op type.

A history is linearizable iff its operations can be put in one sequence that (1) respects real
time: ``a`` may come before ``b`` unless ``b`` completed strictly before ``a`` was invoked
(intervals include their ends), and (2) is legal for a register that starts absent: every read
returns the value of the latest write before it. Acknowledged writes and observed reads must be
in the sequence; failed writes and unobserved reads are left out; a write of unknown outcome may
be in it (then it may take effect at any moment after its invocation) or not.
"""

from __future__ import annotations

import math
from functools import cache

from lbdemo.history import Op


def linearizable(ops: list[Op]) -> bool:
    """Depth-first search over sequences, memoised on (operations left, register value)."""
    required = [op for op in ops if op.outcome == "ok"]
    optional = [op for op in ops if op.op == "write" and op.outcome == "unknown"]
    todo = required + optional
    n_required = len(required)
    ends = [op.complete if i < n_required else math.inf for i, op in enumerate(todo)]

    @cache
    def search(left: frozenset[int], value: str | None) -> bool:
        if all(i >= n_required for i in left):
            return True  # the unknown writes still left simply never happened
        for i in left:
            op = todo[i]
            # Nothing left may have to come before op: no remaining op completed before it began.
            if any(ends[j] < op.invoke for j in left if j != i):
                continue
            rest = left - {i}
            if op.op == "write":
                if search(rest, op.write_id):
                    return True
            elif op.write_id == value and _price_matches(op, ops) and search(rest, value):
                return True
        return any(search(left - {i}, value) for i in left if i >= n_required)

    return search(frozenset(range(len(todo))), None)


def _price_matches(read: Op, ops: list[Op]) -> bool:
    if read.write_id is None:
        return True
    return any(
        w.op == "write" and w.write_id == read.write_id and w.price == read.price for w in ops
    )
