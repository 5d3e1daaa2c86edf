"""``lbdemo demo --workers 2`` end to end: Locust's distributed mode against the real stack
(PostgreSQL, replicas, balancer); each layout's merged history checked as usual."""

from __future__ import annotations

from pathlib import Path

import pytest

from lbdemo.demo.pipeline import LoadSettings
from lbdemo.demo.runner import DemoPlan, run_demo
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from lbdemo.history import read_history
from tests.utils import THINK_MS

pytestmark = pytest.mark.slow


async def test_merged_histories_check_clean_when_shared_and_not_when_private(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    plan = DemoPlan(
        scenario="consistency",
        layouts=[Layout.from_options("private"), Layout.from_options("shared")],
        stack=StackConfig(state_root=tmp_path / "state", balancer_listen="127.0.0.1:0"),
        load=LoadSettings(users=8, duration_s=4, workers=2, think_ms=THINK_MS),
        out_dir=out,
        argv=(
            "demo",
            "--workers",
            "2",
            "--duration",
            "4",
            "--users",
            "8",
            "--think-time",
            str(THINK_MS),
        ),
    )
    lines: list[str] = []
    outcome = await run_demo(plan, lines.append)
    private, shared = outcome.reports
    assert outcome.problems == []

    for report in (private, shared):
        label = report["run"]["label"]
        assert report["run"]["settings"]["workers"] == 2
        history = read_history(out / f"{label}-history.jsonl")
        assert {op.client.split(".")[0] for op in history.ops} == {"w0", "w1"}
        assert report["totals"]["ops"] == len(history.ops)
        assert sorted(p.name for p in out.glob(f"{label}-history*")) == [f"{label}-history.jsonl"]

    assert private["anomalies"]["stale_read"]["count"] > 0
    assert private["divergent_keys"]["count"] > 0
    assert private["verdict"] == "inconsistent"
    assert shared["anomalies"]["stale_read"]["count"] == 0
    assert shared["linearizability"]["verdict"] == "linearizable"
    assert shared["verdict"] == "consistent"
    # the live figures came through the master-and-workers plumbing too
    assert any("on 2 Locust workers" in line for line in lines)
    assert any("stale reads seen live=" in line for line in lines)
