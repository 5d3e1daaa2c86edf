"""The rules a history keeps beyond each line's own shape: one clock, unique write ids, no
operation completed before it was invoked, one operation at a time per client.

The reader asks them over a whole history at once (:exc:`Malformed` tells it to go back and
find the line to blame); :func:`check_op` is the same rules for one line of that slower walk.
"""

from __future__ import annotations

import math

from lbdemo.errors import UsageError
from lbdemo.history.record import WRITE, HistoryHeader, Op


class Malformed(Exception):
    """A rule broken in bulk: read the files again line by line to say where."""


def check_one_clock(headers: list[HistoryHeader]) -> None:
    """Raise UsageError when the files were recorded under different monotonic clocks.

    Merging sorts operations by their monotonic times, which compare only within one boot of
    one machine (``docs/load.md``, "Time"); a file without a boot id is taken on trust.
    """
    boots = {h.boot_id: h for h in headers if h.boot_id is not None}
    if len(boots) > 1:
        a, b = list(boots.values())[:2]
        raise UsageError(
            f"{a.path} and {b.path} were recorded on different machines (or boots: "
            f"{a.boot_id} and {b.boot_id}); their monotonic clocks do not compare, so their "
            "operations cannot be ordered into one history"
        )


def check_write_ids(ops: list[Op]) -> None:
    """Every write has an id of its own (``ops`` in the order they were decoded, which is the
    order they lie in memory)."""
    ids = [op.write_id for op in ops if op.op == WRITE]
    if None in ids or "" in ids or len(set(ids)) != len(ids):
        raise Malformed


def check_times(ops: list[Op]) -> tuple[Op | None, bool]:
    """Raise Malformed when an operation completed before it was invoked; return the first
    operation (in invocation order) invoked before its client's previous one completed, if any,
    and whether two operations were invoked at the same instant.

    ``ops`` in invocation order. Every per-client rule of the checker assumes that a client
    issues one operation at a time (as a Locust user does); touching intervals are allowed.
    One loop for all three: reading the attributes of a million operations costs mostly the
    fetching from memory, so the other rules come almost free once the first has fetched the
    times (a separate pass in C for the first cost more than this loop saves).
    """
    last: dict[str, float] = {}  # client -> completion of its latest operation
    get = last.get
    never = previous = -math.inf
    overlap: Op | None = None
    ties = False
    for op in ops:
        invoke, complete = op.invoke, op.complete
        if complete < invoke:
            raise Malformed
        if invoke == previous:
            ties = True
        previous = invoke
        client = op.client
        if invoke < get(client, never) and overlap is None:
            overlap = op
        last[client] = complete
    return overlap, ties


def check_one_op_per_client(ops: list[Op]) -> None:
    """Raise UsageError when a client invoked an operation before its previous one completed.

    ``ops`` in invocation order, times already checked (the reader does both in one loop,
    :func:`check_times`, which this asks too).
    """
    overlap, _ = check_times(ops)
    if overlap is not None:
        raise overlap_error(ops, overlap)


def overlap_error(ops: list[Op], op: Op) -> UsageError:
    """The error for ``op``, invoked before the previous operation of its client completed."""
    i = next(i for i, p in enumerate(ops) if p is op)
    prev = next(p for p in reversed(ops[:i]) if p.client == op.client)
    return UsageError(
        f"client {op.client} has overlapping operations: {_describe(op)} was invoked "
        f"before {_describe(prev)} completed; a client must issue one operation at a time"
    )


def _describe(op: Op) -> str:
    what = f"{op.op} {op.write_id}" if op.op == WRITE else "read"
    return f"{what} of {op.key} [invoke={op.invoke!r}, complete={op.complete!r}]"


def check_op(op: Op, where: str, seen: dict[str, str]) -> None:
    """Raise ValueError when the op line at ``where`` breaks a rule; ``seen`` maps each write id
    met so far to where it was written."""
    if op.complete < op.invoke:
        raise ValueError(f"'complete' ({op.complete}) is before 'invoke' ({op.invoke})")
    if op.op == WRITE:
        wid = op.write_id
        if not wid:
            raise ValueError("a write needs a non-empty 'write_id'")
        if wid in seen:
            raise ValueError(f"write_id {wid!r} was already used at {seen[wid]}")
        seen[wid] = where
