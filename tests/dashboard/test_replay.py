"""``lbdemo replay REPORT.json --dashboard``: a recorded run on the same page, offline, marked as
a replay, its counters ending on the report's totals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.dashboard.live import LINK, lbdemo, streaming

REPORT = Path(__file__).parents[2] / "results" / "private.json"


def test_a_bad_report_or_speed_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text('{"run": {}}')
    for argv in (
        [str(tmp_path / "missing.json")],
        [str(tmp_path / "notes.json")],
        [str(REPORT), "--speed", "0"],
        [str(REPORT), "--dashboard", "--dashboard-port", "99999"],
    ):
        result = lbdemo(tmp_path, "replay", *argv)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, (argv, result.stderr)


def test_replay_in_the_terminal_ends_on_the_reports_totals(tmp_path: Path) -> None:
    report = json.loads(REPORT.read_text())
    result = lbdemo(tmp_path, "replay", str(REPORT), "--speed", "200")
    assert result.returncode == 0, result.stderr
    last = [line for line in result.stderr.splitlines() if line.startswith("progress:")][-1]
    assert f"ops={report['totals']['ops']} " in last
    assert last.endswith(f"stale_reads={report['anomalies']['stale_read']['count']}")
    assert report["verdict"] in result.stdout


@pytest.mark.slow
async def test_replay_on_the_dashboard_reaches_the_reports_totals(tmp_path: Path) -> None:
    report = json.loads(REPORT.read_text())
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lbdemo", "replay", str(REPORT), "--speed", "20",
        "--dashboard", "--dashboard-interval", "0.2",
        env={**os.environ, "LBDEMO_STATE": str(tmp_path)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        match = LINK.match(line.rstrip("\n"))
        assert match, line
        url, token = match[1], match[2]
        async with streaming(url, token) as snapshots:
            _, first = await snapshots.first(lambda s: s["verdict"]["state"] == "running")
            _, done = await snapshots.first(lambda s: s["verdict"]["state"] == "finished")
        assert first["replay"] is True and done["replay"] is True
        assert done["stack"]["storage"] == "private" and done["verdict"]["source"] == "replay"
        load = done["counts"]["load"]
        assert load["ops"] == report["totals"]["ops"]
        assert load["stale_reads"] == report["anomalies"]["stale_read"]["count"]
        assert done["verdict"]["text"] == "INCONSISTENT"
        assert done["verdict"]["lost_writes"] == report["lost_writes"]["count"]
        assert done["counts"]["divergent_keys"] == report["divergent_keys"]["count"]
        assert len(done["series"]["current"]["t_s"]) == len(report["series"]["t_s"])
        async with ClientSession() as http, http.get(url + "/") as r:
            assert r.status == 200  # the page itself, offline
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # a replay is no run of this state root's stack: it leaves no contrast behind
    assert not (tmp_path / "dashboard" / "last-run.json").exists()
