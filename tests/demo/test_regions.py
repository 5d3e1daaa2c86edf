"""Two simulated regions for real: the shared store in region B, RTT 50 ms away from the
replicas, and every operation pays the round trip (one short run: 1 replica, 3 users, 2 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lbdemo.demo.pipeline import LoadSettings, RunSpec, Scenario, run_under_load
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from tests.utils import THINK_MS

pytestmark = pytest.mark.slow
RTT_MS = 50


async def test_a_far_shared_store_costs_every_operation_the_round_trip(tmp_path: Path) -> None:
    layout = Layout.named("shared", region_rtt_ms=RTT_MS)
    stack = StackConfig(
        state_root=tmp_path / "state", layout=layout, replicas=1, balancer_listen="127.0.0.1:0"
    )
    load = LoadSettings(users=3, duration_s=2, keys=4, think_ms=THINK_MS)
    spec = RunSpec(layout.storage, "consistency", stack, load, tmp_path / "out")
    outcome = await run_under_load(spec, Scenario(), lambda _line: None)
    report = outcome.report
    # a lower bound: the link adds RTT/2 each way to every query; a busy machine only adds more
    assert report["latency_ms"]["writes"]["p50"] >= RTT_MS
    assert report["latency_ms"]["reads"]["p50"] >= RTT_MS
    assert report["verdict"] == "consistent"  # one store, however far: no stale read
    assert report["run"]["layout"]["region_rtt_ms"] == RTT_MS
    assert report["run"]["layout"]["regions"]["b"] == [
        "the shared PostgreSQL (every replica's reads and writes)"
    ]
