"""``--store redis`` for real: redis-server as lbdemo's child, real replicas, real Locust.

The three Redis layouts run at once (separate state roots, free ports), 3 s of load each, to
stay within the suite's time: shared (one primary) is consistent; private (a Redis per replica)
is inconsistent with divergent keys; replicated-async with 100 ms on the replication link
(lbdemo's fault proxy) serves stale reads. Skipped with the reason where redis-server is not
installed (scripts/ensure-stores installs it).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from lbdemo.demo.pipeline import LoadSettings, RunOutcome, RunSpec, Scenario, run_under_load
from lbdemo.demo.runner import store_label
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from lbdemo.process.pids import pid_alive
from tests.utils import THINK_MS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="redis-server is not installed (scripts/ensure-stores installs Debian's)",
    ),
]
LOAD = LoadSettings(users=3, duration_s=3, keys=4, think_ms=THINK_MS)


async def _run(tmp_path: Path, layout: Layout, pids: list[int]) -> RunOutcome:
    label = store_label(layout)
    stack = StackConfig(
        state_root=tmp_path / label, layout=layout, replicas=2, balancer_listen="127.0.0.1:0"
    )

    def progress(_line: str) -> None:
        # the engine's servers, seen while they run, to check they are gone afterwards
        path = tmp_path / label / "run" / "stack.json"
        if path.exists() and not pids_seen.get(label):
            described = json.loads(path.read_text())
            engine = described["layout"].get("engine") or {}
            servers = [engine.get("primary") or {}, *engine.get("replicas", [])]
            servers += [r.get("engine", {}).get("primary") or {} for r in described["replicas"]]
            pids.extend(s["pid"] for s in servers if s.get("pid"))
            pids_seen[label] = True

    pids_seen: dict[str, bool] = {}
    return await run_under_load(
        RunSpec(label, "consistency", stack, LOAD, tmp_path / "out"), Scenario(), progress
    )


async def test_redis_shared_private_and_replicated_async(tmp_path: Path) -> None:
    pids: list[int] = []
    shared, private, replicated = await asyncio.gather(
        _run(tmp_path, Layout.named("shared", store="redis"), pids),
        _run(tmp_path, Layout.named("private", store="redis"), pids),
        _run(
            tmp_path,
            Layout.named("replicated-async", store="redis", apply_delay_ms=100),
            pids,
        ),
    )
    report = shared.report
    assert report["totals"]["reads"] > 0  # a busy machine may start Locust late
    assert report["verdict"] == "consistent"
    assert report["anomalies"]["stale_read"]["count"] == 0 and report["lost_writes"]["count"] == 0
    assert report["run"]["layout"]["store"] == "redis"
    assert report["run"]["store"]["kind"] == "redis" and report["run"]["store"]["version"]

    report = private.report
    assert report["verdict"] == "inconsistent" and report["divergent_keys"]["count"] > 0

    report = replicated.report
    assert report["run"]["layout"]["read_mode"] == "replica"
    assert report["anomalies"]["stale_read"]["count"] > 0
    # writes all went to the primary, and the replicas caught up before the audit
    assert report["lost_writes"]["count"] == 0 and report["divergent_keys"]["count"] == 0

    assert len(pids) >= 1 + 2 + 2  # shared's primary, private's two, replicated's primary+2
    assert not [pid for pid in pids if pid_alive(pid)], "a redis-server outlived its stack"
