"""Another tool's operations as an lbdemo :class:`~lbdemo.history.History`, soundly or not at all.

Jepsen, Knossos and Porcupine describe a register by the *values* written: a value may be
written twice, and ``cas`` reads and writes in one atomic step. lbdemo's checker decides
linearizability of registers whose every write is unique (a write id), with reads and writes
only (``docs/checker.md``). So a foreign history is turned into lbdemo's operations only where
the two models agree, and refused, with one line naming the operation, where they do not:

- a value written twice on one key (by writes that may have taken effect): a read of it could
  come from either write, which lbdemo's model cannot say; refused;
- a write of the initial value (``nil``, or the model's initial value): a read of it could be
  the initial state or the write; refused;
- a ``cas`` that succeeded or whose outcome is unknown: an atomic read-and-write, which no
  sequence of lbdemo's reads and writes expresses; refused. A ``cas`` that certainly failed
  (``:fail``) changed nothing and is left out;
- any other operation (``append``, ``txn``...): refused.

What maps: a write of a value becomes a write whose ``write_id`` is that value; a read of a
value, a read returning that id (a read of the initial value: "not found"); ``ok`` stays ``ok``,
``fail`` (certainly not applied) stays ``fail``, ``info``/no completion (unknown outcome)
becomes ``unknown``. Every such verdict is then the checker's own, with nothing guessed.

A refused history is not the end: :class:`Foreign` keeps its operations and the model they are
of, and ``lbdemo check`` hands them to the general linearizability search
(``lbdemo.checker.wgl``), which decides them in Knossos's and Porcupine's models.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lbdemo.errors import UsageError
from lbdemo.history import FAIL, OK, READ, WRITE, History, HistoryHeader, Op
from lbdemo.history.rules import check_one_op_per_client
from lbdemo.interop.edn import dumps


@dataclass(slots=True)
class Call:
    """One operation of a foreign history, paired (invocation and completion)."""

    client: str
    f: str  # read, write, cas, or the foreign name of anything else
    key: str
    value: Any  # write: the value written; read: the value returned; cas: [old, new]
    outcome: str  # ok, fail, unknown
    invoke: float
    complete: float | None  # None: never completed (an unknown outcome)
    where: str  # for messages: "FILE: operation N {...}"
    extra: dict[str, Any] = field(default_factory=dict)  # price, replica, status


@dataclass(slots=True)
class Foreign:
    """A foreign history as read, before lbdemo's model is asked to take it: its operations and
    what the general search (``lbdemo.checker.wgl``) needs to judge them instead."""

    calls: list[Call]
    path: str
    model: str  # register, cas-register, kv, mutex, multi-register (lbdemo.checker.models)
    initial: Any  # every key's value before any write
    what: str  # "Jepsen history", ... for messages
    source: str  # the format, for the header
    positions: bool = False  # times are positions in the file
    nil_read_unknown: bool = True  # a read of nil: value not known (Knossos), else nil read

    def history(self) -> History:
        """The lbdemo History of these calls, or :class:`Refused` in one line."""
        return to_history(
            self.calls,
            self.path,
            initial=self.initial,
            what=self.what,
            source=self.source,
            positions=self.positions,
        )


class Refused(UsageError):
    """A foreign history lbdemo's checker cannot decide soundly (one line: what and where)."""


def value_text(value: Any) -> str:
    """A value as the text of a write id (strings as they are)."""
    return value if isinstance(value, str) else dumps(value)


def show(value: Any) -> str:
    """A value for a one-line message: EDN text (strings quoted, newlines escaped), cut short."""
    text = dumps(value) if not isinstance(value, str) or not value.isprintable() else value
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


POSITIONS = "+positions"  # ends the header's format when times are positions in the file


def to_history(
    calls: Iterable[Call],
    path: str,
    *,
    initial: Any = None,
    what: str = "history",
    source: str = "foreign",
    positions: bool = False,
) -> History:
    """The lbdemo History of ``calls`` (``initial``: the value a key holds before any write).

    The header's ``format`` names the ``source`` format, with :data:`POSITIONS` appended when
    the times are positions in the file (``positions``), so that reports can say so.
    """
    calls = list(calls)
    end = max(
        (t for c in calls for t in (c.invoke, c.complete) if t is not None),
        default=0.0,
    )
    # Writes that may have taken effect, and failed writes, per key and value.
    live: dict[tuple[str, Any], Call] = {}
    failed: dict[tuple[str, Any], Call] = {}
    for c in calls:
        if c.f == "cas":
            if c.outcome != FAIL:
                if c.extra.get("swapped") is False:
                    how = "that found another value reads"  # a Jepsen log's :fail
                else:
                    outcome = "ok" if c.outcome == OK else "unknown"
                    how = f"whose outcome is {outcome} reads and writes"
                raise Refused(
                    f"{c.where}: a cas (compare-and-set) {how} in one step; "
                    "lbdemo checks registers of reads and unique writes only, so this "
                    f"{what} cannot be checked soundly"
                )
            continue
        if c.f not in (READ, WRITE):
            raise Refused(
                f"{c.where}: {show(c.f)} operations are not reads or writes of a register; lbdemo "
                f"cannot check this {what}"
            )
        if c.f != WRITE:
            continue
        if c.value is None or c.value == initial:
            raise Refused(
                f"{c.where}: writes the initial value ({show(initial)}), so a read of it "
                "could be the initial state or this write; lbdemo cannot check this "
                f"{what} soundly"
            )
        k = (c.key, _hashable(c.value))
        if c.outcome == FAIL:
            failed.setdefault(k, c)
            continue
        if k in live:
            raise Refused(
                f"{c.where}: value {show(c.value)} is written on key {show(c.key)} a second "
                f"time (first: {live[k].where}); lbdemo checks registers whose writes are "
                f"unique, so this {what} cannot be checked soundly"
            )
        live[k] = c
    # Write ids: the value's text; prefixed with the key when two keys share a value.
    texts: dict[str, str] = {}
    clash = False
    for key, v in (*live, *failed):
        t = value_text(v)
        if texts.setdefault(t, key) != key:
            clash = True

    def wid(key: str, value: Any) -> str:
        t = value_text(value)
        return f"{key}:{t}" if clash else t

    ids: dict[tuple[str, Any], str] = {}
    prices: dict[tuple[str, Any], int | float | None] = {}
    for k, c in (*failed.items(), *live.items()):  # live wins the id of a value it shares
        ids[k] = wid(*k)
        prices[k] = c.extra.get("price", _number(c.value))
    own_ids = 0
    ops: list[Op] = []
    for c in calls:
        if c.f == "cas":
            continue
        complete = end if c.complete is None else c.complete
        if c.f == WRITE:
            k = (c.key, _hashable(c.value))
            write_id = ids[k]
            if c.outcome == FAIL and (k in live or failed[k] is not c):
                # A failed write sharing its value with another write: an id of its own, so
                # that reads of the value are explained by the write that may have happened.
                own_ids += 1
                write_id = f"{write_id} (failed write {own_ids})"
            price = c.extra.get("price", _number(c.value))
        elif c.outcome != OK or c.value is None or c.value == initial:
            write_id, price = None, None
        else:
            k = (c.key, _hashable(c.value))
            write_id = ids.get(k) or wid(*k)
            price = c.extra.get("price", prices[k] if k in prices else _number(c.value))
        ops.append(
            Op(
                client=c.client,
                op="read" if c.f == READ else "write",
                key=c.key,
                write_id=write_id,
                price=price,
                invoke=c.invoke,
                complete=complete,
                status=c.extra.get("status"),
                outcome="ok" if c.outcome == OK else "fail" if c.outcome == FAIL else "unknown",
                replica=c.extra.get("replica"),
            )
        )
    ops.sort(key=lambda op: op.invoke)
    check_one_op_per_client(ops)
    fmt = source + (POSITIONS if positions else "")
    header = HistoryHeader(wall_anchor=0.0, mono_anchor=0.0, path=path, format=fmt)
    return History([header], ops)


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _hashable(v)) for k, v in value.items()))
    return value
