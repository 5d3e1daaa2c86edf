"""Tiny builders for hand-written histories: ``W`` writes, ``R`` reads, ``H`` a history.

Prices default to a number derived from the write id so that reads match their writes unless a
test says otherwise.
"""

from __future__ import annotations

from lbdemo.history import History, HistoryHeader, Op


def price_of(write_id: str | None) -> int | None:
    return None if write_id is None else sum(map(ord, write_id))


def W(  # capitalised: reads like a history table
    client: str,
    key: str,
    write_id: str,
    invoke: float,
    complete: float,
    outcome: str = "ok",
    replica: str | None = "r1",
) -> Op:
    status = {"ok": 200, "fail": 503, "unknown": None}[outcome]
    return Op(
        client,
        "write",
        key,
        write_id,
        price_of(write_id),
        invoke,
        complete,
        status,
        outcome,
        replica,
    )


def R(
    client: str,
    key: str,
    write_id: str | None,
    invoke: float,
    complete: float,
    replica: str | None = "r1",
    price: int | str | None = "auto",
    outcome: str = "ok",
) -> Op:
    p = price_of(write_id) if price == "auto" else price
    assert not isinstance(p, str)
    status = 404 if write_id is None else 200
    return Op(client, "read", key, write_id, p, invoke, complete, status, outcome, replica)


def H(*ops: Op) -> History:
    return History(
        headers=[HistoryHeader(wall_anchor=1_000.0, mono_anchor=0.0)],
        ops=sorted(ops, key=lambda o: o.invoke),
    )
