"""The layouts beyond private and shared, for real: streaming standbys (async with an apply
delay: stale reads; sync: none) and the seed's shared data directory (refused, nothing left)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from lbdemo.commands.demo import reports_line
from lbdemo.demo.datadir import REFUSED, processes_using, run_refusal
from lbdemo.demo.pipeline import LoadSettings, RunSpec, Scenario, run_under_load
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from lbdemo.process.pids import pid_alive
from lbdemo.runtime.stack import Stack
from tests.utils import THINK_MS

pytestmark = pytest.mark.slow
LOAD = LoadSettings(users=4, duration_s=3, keys=4, think_ms=THINK_MS)


def _spec(tmp_path: Path, layout: Layout) -> RunSpec:
    stack = StackConfig(
        state_root=tmp_path / "state", layout=layout, replicas=2, balancer_listen="127.0.0.1:0"
    )
    return RunSpec(layout.storage, "consistency", stack, LOAD, tmp_path / "out")


async def test_async_standbys_behind_an_apply_delay_serve_stale_reads(tmp_path: Path) -> None:
    layout = Layout.named("replicated-async", apply_delay_ms=400)
    outcome = await run_under_load(_spec(tmp_path, layout), Scenario(), lambda _line: None)
    report = outcome.report
    stale = report["anomalies"]["stale_read"]["count"]
    assert stale > 0
    section = report["replication"]
    assert section["stale_reads"] == stale and len(section["standbys"]) == 2
    # PostgreSQL's own figure includes the delay; the clients' figure is bounded by it
    assert section["replay_lag_ms"]["p50"] >= 200  # half the delay: samples while it ramps up
    history_lag = section["lag_from_history_ms"]
    assert 0 < history_lag["count"] <= stale
    assert 0 <= history_lag["max"] < 400 + 1000
    # writes went to the primary: every acknowledged write is on every standby after catch-up
    assert report["lost_writes"]["count"] == 0 and report["divergent_keys"]["count"] == 0
    assert "## Replication" in outcome.markdown_path.read_text()


async def test_sync_standbys_serve_no_stale_read(tmp_path: Path) -> None:
    outcome = await run_under_load(
        _spec(tmp_path, Layout.named("replicated-sync")), Scenario(), lambda _line: None
    )
    report = outcome.report
    assert report["totals"]["reads"] > 100
    assert report["anomalies"]["stale_read"]["count"] == 0
    assert report["anomalies"]["read_your_writes"]["count"] == 0
    section = report["replication"]
    assert section["synchronous"] is True and section["lag_from_history_ms"]["count"] == 0
    assert section["write_latency_ms"]["p50"] is not None


async def test_shared_datadir_is_refused_and_leaves_nothing_running(tmp_path: Path) -> None:
    spec = _spec(tmp_path, Layout.named("shared-datadir"))
    report = await run_refusal(spec, lambda _line: None)
    refusal = report["refusal"]
    assert report["verdict"] == REFUSED and refusal["refused"]
    assert 'lock file "postmaster.pid" already exists' in refusal["reason"]
    assert "lbdemo-r2" in refusal["reason"] and "lbdemo-r1" in refusal["reason"]
    holder = re.search(r"\(PID (\d+)\)", refusal["reason"])
    assert holder is not None and not pid_alive(int(holder[1])), "the first server was stopped"
    assert refusal["left_running"] == []
    assert processes_using(Path(refusal["data_directory"])) == []
    assert processes_using(tmp_path / "state") == []
    assert "Nothing was left running" in (spec.out_dir / "shared-datadir.md").read_text()
    # `lbdemo demo` names what a refusal wrote: exactly these files, nothing more
    written = sorted(p.name for p in spec.out_dir.iterdir())
    assert written == ["shared-datadir.json", "shared-datadir.md"]
    line = reports_line(spec.out_dir, [], ["shared-datadir"])
    assert line == f"reports in {spec.out_dir}/: shared-datadir.md (and .json)"


async def test_a_standby_gets_the_password_in_its_own_file_never_on_a_command_line(
    tmp_path: Path,
) -> None:
    config = StackConfig(
        state_root=tmp_path / "state",
        layout=Layout.named("replicated-async"),
        replicas=1,
        balancer_listen="127.0.0.1:0",
    )
    stack = Stack(config)
    await stack.start()
    try:
        password = stack.runtime.pg_password
        standby = stack.replicas[0].server
        assert standby is not None
        auto_conf = standby.pgdata / "postgresql.auto.conf"
        assert password in auto_conf.read_text() and (standby.pgdata / "standby.signal").exists()
        assert auto_conf.stat().st_mode & 0o077 == 0, "readable by the server's user only"
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    assert password.encode() not in (entry / "cmdline").read_bytes()
    finally:
        await stack.stop()
    assert processes_using(tmp_path / "state") == []
