"""A small run, written as a real history file, and reports built from it, for report tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lbdemo.checker import Audit, check
from lbdemo.history import HistoryWriter, Op, read_history
from lbdemo.report import build_report
from lbdemo.report.provenance import run_provenance


def op(
    client: str,
    kind: str,
    key: str,
    wid: str | None,
    inv: float,
    comp: float,
    replica: str | None = "r1",
    outcome: str = "ok",
) -> Op:
    price = None if wid is None else len(wid) * 100
    status = (
        None
        if outcome == "unknown"
        else (503 if outcome == "fail" else (404 if wid is None else 200))
    )
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
AUDIT = Audit(replicas={"r1": {"p1": "u1-1"}, "r2": {"p2": "u1-2"}}, rows={"r1": 1, "r2": 1})
# Both replicas agree on every acknowledged write of CLEAN.
CLEAN_AUDIT = Audit(
    replicas={r: {"p1": "u1-1", "p2": "u1-2"} for r in ("r1", "r2")}, rows={"r1": 2, "r2": 2}
)
LAYOUTS = {
    "private": "one PostgreSQL per replica, in its container layer",
    "shared-volume": "one PostgreSQL, its data on the named volume lbdemo-pgdata",
}


def write_history(path: Path, ops: list[Op]) -> Path:
    with HistoryWriter(path, host="http://127.0.0.1:9", wall_anchor=1e9, mono_anchor=0.0) as w:
        w.write_all(ops)
    return path


def scenario_run(label: str, layout: str, **settings: Any) -> dict[str, Any]:
    """A ``run`` block shaped as the scenario pipeline writes it (settings overridable)."""
    return {
        "label": label,
        "scenario": "consistency",
        "layout": {"name": layout, "runtime": "local", "summary": LAYOUTS[layout]},
        "settings": {
            "replicas": 3,
            "users": 20,
            "duration_s": 20.0,
            "keys": 8,
            "write_ratio": 0.3,
            "strategy": "round-robin",
            **settings,
        },
        "started_at": "2026-11-27T19:21:41+00:00",
        "stack_start_s": 1.5,
        "locust": {"exit_code": 0, "requests": 6, "failures": 0, "stale_reads": 0},
        "files": {
            "history": f"{label}-history.jsonl",
            "audit": f"{label}-audit.json",
            "locust_csv": f"{label}-locust_stats.csv",
            "locust_html": f"{label}-locust.html",
            "html": f"{label}.html",
        },
        **run_provenance(["demo"], postgresql="18.6"),
    }


def make_report(
    tmp_path: Path, ops: list[Op], audit: Audit | None = None, run: dict[str, Any] | None = None
) -> dict[str, Any]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    history = read_history([write_history(tmp_path / "h.jsonl", ops)])
    return build_report(
        check(history, audit),
        history,
        audit,
        run if run is not None else scenario_run("private", "private"),
    )
