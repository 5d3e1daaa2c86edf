"""End to end: a short real run per layout (real Locust, PostgreSQL, replicas and balancer)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lbdemo.demo.pipeline import LoadSettings, RunSpec, Scenario, run_under_load
from lbdemo.demo.runner import DemoPlan, run_demo
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from tests.utils import THINK_MS

pytestmark = pytest.mark.slow


async def test_private_storage_is_inconsistent_and_shared_storage_is_not(tmp_path: Path) -> None:
    out, state = tmp_path / "out", tmp_path / "state"
    plan = DemoPlan(
        scenario="consistency",
        layouts=[Layout.from_options("private"), Layout.from_options("shared")],
        stack=StackConfig(state_root=state, balancer_listen="127.0.0.1:0"),
        # a shorter pause than the other load tests': the shared run must record 500 operations
        load=LoadSettings(users=10, duration_s=3, think_ms=THINK_MS / 2),
        out_dir=out,
        argv=("demo", "--duration", "3", "--think-time", f"{THINK_MS / 2:g}"),
    )
    outcome = await run_demo(plan, lambda _line: None)
    private, shared = outcome.reports
    assert outcome.problems == [], "the demo showed what it exists to show"

    assert private["run"]["label"] == "private"
    assert private["run"]["layout"]["name"] == "private"
    assert private["anomalies"]["stale_read"]["count"] > 0
    assert private["divergent_keys"]["count"] > 0
    assert private["verdict"] == "inconsistent"

    assert shared["run"]["layout"]["name"] == "shared-volume"
    assert shared["totals"]["ops"] > 500
    assert shared["anomalies"]["stale_read"]["count"] == 0
    assert shared["anomalies"]["read_your_writes"]["count"] == 0
    assert shared["divergent_keys"]["count"] == 0
    assert shared["linearizability"]["verdict"] == "linearizable"
    assert shared["verdict"] == "consistent"

    # "again" runs on the volume the first shared run left full of rows: a run must only be
    # judged on its own keys, or old rows would look like garbage reads.
    again = await run_under_load(
        RunSpec(
            "again",
            "consistency",
            plan.specs()[1].stack,
            LoadSettings(users=5, duration_s=2, think_ms=THINK_MS),
            out,
        ),
        Scenario(),
        lambda _line: None,
    )
    assert again.report["verdict"] == "consistent"
    assert again.report["anomalies"]["garbage_read"]["count"] == 0

    # the files a user would look at, and the CI gate on them
    compare = (out / "compare.md").read_text()
    assert f"`lbdemo demo --duration 3 --think-time {THINK_MS / 2:g}`" in compare
    assert "[private.md](private.md)" in compare
    for name in ("private", "shared"):
        assert (
            json.loads((out / f"{name}.json").read_text())["verdict"]
            == outcome.reports[name == "shared"]["verdict"]
        )
        assert (out / f"{name}.md").read_text().startswith("# ")
        assert (out / f"{name}-history.jsonl").exists() and (out / f"{name}-audit.json").exists()

    def gate(report: str) -> int:
        argv = [
            sys.executable,
            "-m",
            "lbdemo",
            "check",
            str(out / report),
            "--expect",
            "consistent",
        ]
        return subprocess.run(argv, capture_output=True, timeout=60).returncode

    assert gate("shared.json") == 0
    assert gate("private.json") == 1
