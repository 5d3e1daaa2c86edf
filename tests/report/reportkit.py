"""A small run, written as a real history file, for report and command tests."""

from __future__ import annotations

from pathlib import Path

from lbdemo.history import HistoryWriter, Op


def op(client: str, kind: str, key: str, wid: str | None, inv: float, comp: float,
       replica: str | None = "r1", outcome: str = "ok") -> Op:
    price = None if wid is None else len(wid) * 100
    status = None if outcome == "unknown" else (503 if outcome == "fail" else
                                               (404 if wid is None else 200))
    return Op(client, kind, key, wid, price, inv, comp, status, outcome, replica)


CLEAN = [
    op("u1", "write", "p1", "u1-1", 10.0, 10.010),
    op("u2", "read", "p1", "u1-1", 10.1, 10.104, "r2"),
    op("u1", "write", "p2", "u1-2", 10.2, 10.220, "r2"),
    op("u2", "read", "p2", "u1-2", 10.3, 10.302, "r1"),
    op("u3", "read", "p3", None, 10.3, 10.301, "r2"),
    op("u3", "write", "p3", "u3-1", 10.4, 10.9, None, outcome="fail"),
]
# The same shape, but the second read of p1 is served by a replica that never saw the write.
STALE = [
    op("u1", "write", "p1", "u1-1", 10.0, 10.010),
    op("u2", "read", "p1", None, 10.1, 10.104, "r2"),
    op("u1", "write", "p2", "u1-2", 10.2, 10.220, "r2"),
    op("u2", "read", "p2", "u1-2", 10.3, 10.302, "r2"),
    op("u3", "read", "p3", None, 10.3, 10.301, "r2"),
]


def write_history(path: Path, ops: list[Op]) -> Path:
    with HistoryWriter(path, host="http://127.0.0.1:9", wall_anchor=1e9, mono_anchor=0.0) as w:
        w.write_all(ops)
    return path
