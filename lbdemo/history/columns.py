"""A history as columns: one numpy array per field of :class:`Op`, not one object per operation.

:func:`read_columns` reads the same files as :func:`lbdemo.history.read_history` and keeps the
same operations in the same order, but as about 50 bytes each instead of about 400: two float64
times, and a small int per other field, an index into a table of the field's distinct values
(clients, keys, replicas, write ids, prices, statuses). A 10 M-operation history then fits in
the memory of a laptop, and whole-history figures (counts, latency percentiles, series) are a
few numpy passes. :meth:`OpColumns.ops` turns any rows back into the very :class:`Op` the reader
would have made, for the checks and sentences that need them.

Only a well-formed history is read this way: at anything :func:`read_history` would refuse or
treat specially (a malformed line, a duplicate write id, one client's operations overlapping,
a time that is not finite), :func:`read_columns` returns None and the caller reads the files with
:func:`read_history`, which says what is wrong in its own words.

Python's standard library, msgspec and numpy; imported only by the code that wants columns
(the locustfile's imports of :mod:`lbdemo.history` stay free of numpy).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from lbdemo.errors import UsageError
from lbdemo.history.reader import decode_ops, read_chunks, read_header
from lbdemo.history.record import FAIL, OK, READ, UNKNOWN, WRITE, HistoryHeader, Op
from lbdemo.history.rules import Malformed, check_one_clock

Floats = npt.NDArray[np.float64]
Codes = npt.NDArray[np.int32]
Small = npt.NDArray[np.int8]
Indices = npt.NDArray[np.intp]

# The codes of the two closed fields (their order is the tables'): compared as small ints.
OPS = (READ, WRITE)
OUTCOMES = (OK, FAIL, UNKNOWN)
READ_CODE, WRITE_CODE = 0, 1
OK_CODE, FAIL_CODE, UNKNOWN_CODE = 0, 1, 2

T = TypeVar("T")


class Table(dict[T, int], Generic[T]):
    """Distinct values, each numbered in the order first met: ``table[value]`` is its code.

    Looking a value up adds it when it is new (``__missing__``), so ``map(table.__getitem__,
    values)`` numbers a whole column in one pass in C; ``list(table)`` is the values by code.
    """

    def __missing__(self, value: T) -> int:
        code = self[value] = len(self)
        return code


# A price's code tells apart what prints differently (1 and 1.0, 0.0 and -0.0): ints and None
# are their own key; a float is keyed by its repr, in a tuple so that it never meets an int.
_PriceKey = int | None | tuple[str, str]

_CLIENT, _KEY, _REPLICA = attrgetter("client"), attrgetter("key"), attrgetter("replica")
_WRITE_ID, _PRICE, _STATUS = attrgetter("write_id"), attrgetter("price"), attrgetter("status")
_OP, _OUTCOME = attrgetter("op"), attrgetter("outcome")
_INVOKE, _COMPLETE = attrgetter("invoke"), attrgetter("complete")
_OP_CODES = {v: i for i, v in enumerate(OPS)}
_OUTCOME_CODES = {v: i for i, v in enumerate(OUTCOMES)}
# Smaller slices than read_history's: each slice's structs are freed once made into columns,
# and 1 MiB of them took fewer page faults than 4 MiB (38,500 against 47,400 for a million
# operations): 1.42-1.43 s against 1.53-1.68 s to read them. The command's peak moved by a few
# bytes per operation (1 M: 149 against 150; 10 M: 167 against 160; results/scale.md).
_SLICE_BYTES = 1 << 20


@dataclass(slots=True)
class OpColumns:
    """Every operation of a run as columns, row ``j`` the ``j``-th in invocation order (ties
    broken as :func:`read_history` breaks them), and the tables the codes index."""

    headers: list[HistoryHeader]
    invoke: Floats
    complete: Floats
    op: Small  # READ_CODE or WRITE_CODE
    outcome: Small  # OK_CODE, FAIL_CODE or UNKNOWN_CODE
    client: Codes
    key: Codes
    write_id: Codes
    price: Codes
    status: Codes
    replica: Codes
    clients: list[str]
    keys: list[str]
    write_ids: list[str | None]
    prices: list[int | float | None]
    statuses: list[int | None]
    replicas: list[str | None]

    def __len__(self) -> int:
        return len(self.invoke)

    @property
    def t0(self) -> float:
        """The first invocation, as :attr:`History.t0`."""
        return float(self.invoke[0]) if len(self) else 0.0

    @property
    def span(self) -> float:
        """Seconds from the first invocation to the last completion, as :attr:`History.span`."""
        return float(self.complete.max()) - float(self.invoke[0]) if len(self) else 0.0

    def ops(self, rows: Indices | Sequence[int]) -> list[Op]:
        """The operations of ``rows`` as the :class:`Op` objects the reader would have made."""
        rows = np.asarray(rows, dtype=np.intp)
        return list(
            map(
                Op,
                map(self.clients.__getitem__, self.client[rows].tolist()),
                map(OPS.__getitem__, self.op[rows].tolist()),
                map(self.keys.__getitem__, self.key[rows].tolist()),
                map(self.write_ids.__getitem__, self.write_id[rows].tolist()),
                map(self.prices.__getitem__, self.price[rows].tolist()),
                self.invoke[rows].tolist(),
                self.complete[rows].tolist(),
                map(self.statuses.__getitem__, self.status[rows].tolist()),
                map(OUTCOMES.__getitem__, self.outcome[rows].tolist()),
                map(self.replicas.__getitem__, self.replica[rows].tolist()),
            )
        )

    def rows_by_key(self) -> dict[str, Indices]:
        """Each key's rows in invocation order, keys sorted (the order the checker walks)."""
        order = np.argsort(self.key, kind="stable")
        bounds = np.cumsum(np.bincount(self.key, minlength=len(self.keys)))
        groups = np.split(order, bounds[:-1])
        return {self.keys[code]: groups[code] for code in np.argsort(self.keys).tolist()}


class _Builder:
    """The columns of the ops decoded so far, a slice at a time, and the tables they share."""

    def __init__(self) -> None:
        self.parts: dict[str, list[npt.NDArray[Any]]] = {}
        self.clients: Table[str] = Table()
        self.keys: Table[str] = Table()
        self.write_ids: Table[str | None] = Table()
        self.prices: Table[_PriceKey] = Table()
        self.statuses: Table[int | None] = Table()
        self.replicas: Table[str | None] = Table()

    def add(self, batch: list[Op]) -> None:
        n = len(batch)

        def codes(table: Table[Any], values: Iterable[Any]) -> Codes:
            return np.fromiter(map(table.__getitem__, values), np.int32, n)

        prices: Iterable[_PriceKey] = map(_PRICE, batch)
        if not {type(p) for p in map(_PRICE, batch)} <= {int, type(None)}:
            prices = [("f", repr(p)) if type(p) is float else p for p in map(_PRICE, batch)]
        columns: dict[str, npt.NDArray[Any]] = {
            "invoke": np.fromiter(map(_INVOKE, batch), np.float64, n),
            "complete": np.fromiter(map(_COMPLETE, batch), np.float64, n),
            "op": np.fromiter(map(_OP_CODES.__getitem__, map(_OP, batch)), np.int8, n),
            "outcome": np.fromiter(
                map(_OUTCOME_CODES.__getitem__, map(_OUTCOME, batch)), np.int8, n
            ),
            "client": codes(self.clients, map(_CLIENT, batch)),
            "key": codes(self.keys, map(_KEY, batch)),
            "write_id": codes(self.write_ids, map(_WRITE_ID, batch)),
            "price": codes(self.prices, prices),
            "status": codes(self.statuses, map(_STATUS, batch)),
            "replica": codes(self.replicas, map(_REPLICA, batch)),
        }
        for name, column in columns.items():
            self.parts.setdefault(name, []).append(column)

    def column(self, name: str, dtype: type[Any]) -> npt.NDArray[Any]:
        """One whole column (its parts freed as they are joined)."""
        parts = self.parts.pop(name, [])
        return np.concatenate(parts) if parts else np.empty(0, dtype)

    def finish(self, headers: list[HistoryHeader]) -> OpColumns | None:
        """Every op added, in read_history's order; None if they break its rules."""
        invoke = self.column("invoke", np.float64)
        complete = self.column("complete", np.float64)
        # Invocation order, equal invocations by completion, then the files' order (stable), as
        # read_history sorts; the second key only when two invocations are equal (it costs twice
        # the time, and a history written as it happened is nearly sorted already).
        order = np.argsort(invoke, kind="stable")
        sorted_invoke = invoke[order]
        if (sorted_invoke[1:] == sorted_invoke[:-1]).any():
            order = np.lexsort((complete, invoke))
        del sorted_invoke
        columns = {"invoke": invoke[order], "complete": complete[order]}
        del invoke, complete
        for name, dtype in (("op", np.int8), ("outcome", np.int8)):
            columns[name] = self.column(name, dtype)[order]
        for name in ("client", "key", "write_id", "price", "status", "replica"):
            columns[name] = self.column(name, np.int32)[order]
        del order
        out = OpColumns(
            headers=headers,
            clients=list(self.clients),
            keys=list(self.keys),
            write_ids=list(self.write_ids),
            prices=[float(p[1]) if isinstance(p, tuple) else p for p in self.prices],
            statuses=list(self.statuses),
            replicas=list(self.replicas),
            **columns,
        )
        return out if _keeps_the_rules(out) else None


def read_columns(paths: Sequence[str | os.PathLike[str]]) -> OpColumns | None:
    """The history in lbdemo's files ``paths`` as columns, or None when :func:`read_history`
    must read it instead (something in it is wrong, or unusual enough to need its care)."""
    builder = _Builder()
    headers: list[HistoryHeader] = []
    try:
        for path in map(Path, paths):
            with path.open("rb") as fh:
                headers.append(read_header(fh, path))
                for chunk in read_chunks(fh, _SLICE_BYTES):
                    builder.add(decode_ops(chunk))
        check_one_clock(headers)
    except (OSError, UsageError, Malformed):
        return None
    return builder.finish(headers)


def columns_of(ops: Sequence[Op], headers: list[HistoryHeader] | None = None) -> OpColumns | None:
    """``ops`` (a History's, or made by hand) as columns, sorted as read_history sorts them;
    None where read_history would refuse them."""
    builder = _Builder()
    builder.add(list(ops))
    return builder.finish(headers or [])


def _keeps_the_rules(h: OpColumns) -> bool:
    """The rules read_history enforces (lbdemo.history.rules), over whole columns at once:
    finite times, none completed before invoked, every write's id its own and not empty, one
    operation at a time per client."""
    if not (np.isfinite(h.invoke).all() and np.isfinite(h.complete).all()):
        return False
    if (h.complete < h.invoke).any():
        return False
    write_ids = h.write_id[h.op == WRITE_CODE]
    for empty in (None, ""):
        if empty in h.write_ids and (write_ids == h.write_ids.index(empty)).any():
            return False
    if len(write_ids) and np.bincount(write_ids).max() > 1:  # one code per distinct id
        return False
    # Each client's operations in invocation order: each invoked at or after the previous
    # one's completion.
    by_client = np.argsort(h.client, kind="stable")
    same = h.client[by_client[1:]] == h.client[by_client[:-1]]
    overlap = h.invoke[by_client[1:]] < h.complete[by_client[:-1]]
    return not (same & overlap).any()
