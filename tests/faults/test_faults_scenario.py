"""The faults scenario end to end on shared storage: real Locust, balancer, replicas and
PostgreSQL; every fault of the nemesis injected under load and found in the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lbdemo.demo.faults import FaultsScenario
from lbdemo.demo.pipeline import LoadSettings, RunSpec, run_under_load
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from lbdemo.faults.nemesis import FAULTS
from tests.utils import THINK_MS

pytestmark = pytest.mark.slow


async def test_shared_storage_loses_nothing_and_reads_nothing_stale_under_every_fault(
    tmp_path: Path, state_dir: Path
) -> None:
    stack = StackConfig(
        state_root=state_dir, layout=Layout.from_options("shared"), balancer_listen="127.0.0.1:0"
    )
    spec = RunSpec(
        "faults-shared",
        "faults",
        stack,
        LoadSettings(users=8, duration_s=21, think_ms=THINK_MS),
        tmp_path / "out",
    )
    lines: list[str] = []
    scenario = FaultsScenario(hold_s=1.0, gap_s=1.0, warmup_s=1.0)
    outcome = await run_under_load(spec, scenario, lines.append)
    report = json.loads(outcome.json_path.read_text())
    section = report["faults"]

    assert [row["fault"] for row in section["faults"]] == list(FAULTS), "\n".join(lines)
    assert [p["label"].split(" ")[0] for p in report["run"]["periods"]] == list(FAULTS)
    for row in section["faults"]:
        assert row["requests"] > 0, row
        assert row["stale_reads"] == 0, row
        assert row["lost_writes"] == 0, row
        assert row["first_success_after_s"] is not None, row
    kill = next(r for r in section["faults"] if r["fault"] == "kill-replica")
    assert kill["retried"] is not None
    totals = section["durability"]["totals"]
    assert totals["lost"] == 0 and totals["acknowledged"] > 100
    assert totals["acknowledged"] == totals["final"] + totals["superseded"]
    assert report["anomalies"]["stale_read"]["count"] == 0
    assert section["goal_problems"] == [], section["goal_problems"]
    markdown = outcome.markdown_path.read_text()
    assert "## Faults under load (shared storage)" in markdown
    assert "### Durability proof" in markdown
