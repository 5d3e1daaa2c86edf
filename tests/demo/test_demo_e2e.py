"""End to end: a short real run per layout (real Locust, PostgreSQL, replicas and balancer)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lbdemo.demo.scenario import ScenarioConfig, run_scenario

pytestmark = pytest.mark.slow


async def test_private_storage_is_inconsistent_and_shared_storage_is_not(tmp_path: Path) -> None:
    reports = {}
    # "again" runs on the volume the first shared run left full of rows: a run must only be
    # judged on its own keys, or old rows would look like garbage reads.
    for name, storage in (("shared", "shared"), ("private", "private"), ("again", "shared")):
        config = ScenarioConfig(
            name=name, storage=storage, state_root=tmp_path / "state", out_dir=tmp_path / "out",
            replicas=3, users=10, duration_s=3 if name != "again" else 2,
        )
        reports[name] = (await run_scenario(config, lambda _line: None)).report
    private, shared = reports["private"], reports["shared"]
    assert reports["again"]["verdict"] == "consistent"
    assert reports["again"]["anomalies"]["garbage_read"]["count"] == 0

    assert private["anomalies"]["stale_read"]["count"] > 0
    assert private["divergent_keys"]["count"] > 0
    assert private["verdict"] == "inconsistent"

    assert shared["totals"]["ops"] > 500
    assert shared["anomalies"]["stale_read"]["count"] == 0
    assert shared["anomalies"]["read_your_writes"]["count"] == 0
    assert shared["divergent_keys"]["count"] == 0
    assert shared["linearizability"]["verdict"] == "linearizable"
    assert shared["verdict"] == "consistent"

    # the files a user would look at, and the CI gate on them
    out = tmp_path / "out"
    for name in ("private", "shared"):
        assert json.loads((out / f"{name}.json").read_text())["verdict"] == reports[name]["verdict"]
        assert (out / f"{name}.md").read_text().startswith("# ")
        assert (out / f"{name}-history.jsonl").exists() and (out / f"{name}-audit.json").exists()
    def gate(report: str) -> int:
        argv = [sys.executable, "-m", "lbdemo", "check", str(out / report), "--expect",
                "consistent"]
        return subprocess.run(argv, capture_output=True, timeout=60).returncode

    assert gate("shared.json") == 0
    assert gate("private.json") == 1
