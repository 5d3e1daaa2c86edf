"""Locust's distributed mode for real: a master and two workers (real processes, real HTTP to a
fake product API on 127.0.0.1), their parts merged; a dead worker is an error; nothing outlives
the call."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest

from lbdemo.errors import ProcessError
from lbdemo.history import read_history, worker_history_path
from lbdemo.load.run import LocustRun, run_locust
from tests.load.products_fake import FakeProducts
from tests.utils import eventually


def _locust_children() -> dict[int, str]:
    """pid -> command line of this test process's Locust children (master and workers)."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            ppid = next(line for line in status.read_text().splitlines() if line.startswith("PPid"))
            cmdline = (status.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, StopIteration):
            continue
        if int(ppid.split()[1]) == os.getpid() and "locust" in cmdline:
            found[int(status.parent.name)] = cmdline
    return found


async def _run(url: str, tmp_path: Path, lines: list[str], **kwargs: object) -> LocustRun:
    options: dict = {"users": 6, "spawn_rate": 100, "duration_s": 2, "workers": 2, **kwargs}
    return await run_locust(
        url,
        tmp_path / "run-history.jsonl",
        csv_prefix=tmp_path / "locust",
        on_line=lines.append,
        grace_s=15,
        **options,
    )


async def test_two_workers_leave_one_merged_history_and_combined_progress(tmp_path: Path) -> None:
    lines: list[str] = []
    async with FakeProducts(replicas=2) as fake:  # two private stores: stale reads guaranteed
        run = await _run(fake.url, tmp_path, lines)

    assert not run.crashed and run.workers == 2 and run.stats is not None
    history = read_history(run.history_file)
    assert len(history.ops) == run.stats.ops_recorded > 100
    # Clients numbered per worker: both workers took part, no client in both.
    by_worker = {op.client.split(".")[0] for op in history.ops}
    assert by_worker == {"w0", "w1"}
    assert [op.invoke for op in history.ops] == sorted(op.invoke for op in history.ops)
    header = json.loads(run.history_file.read_text().splitlines()[0])
    assert sorted(p["worker"] for p in header["merged_from"]) == [0, 1]
    assert sum(p["ops"] for p in header["merged_from"]) == len(history.ops)
    assert not worker_history_path(run.history_file, 0).exists()  # merged, then removed
    # The master added up the requests; the stale reads seen live are the workers' sum.
    assert run.stats.requests > 100 and run.stats.stale_reads > 0
    combined = [line for line in lines if line.startswith("progress:")]
    assert combined and all(line.endswith("workers=2") for line in combined)
    assert not any("worker=" in line for line in combined)
    assert _locust_children() == {}


@pytest.mark.slow
async def test_a_worker_that_dies_makes_the_run_a_crash_not_a_gap(tmp_path: Path) -> None:
    lines: list[str] = []
    async with FakeProducts(replicas=1) as fake:
        load = asyncio.ensure_future(_run(fake.url, tmp_path, lines, duration_s=4))
        await eventually(lambda: any(line.startswith("progress:") for line in lines), 30)
        workers = [pid for pid, cmd in _locust_children().items() if "--worker" in cmd]
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)  # a worker started by this run, by its pid
        with pytest.raises(ProcessError, match="worker"):
            await load
    assert _locust_children() == {}
    assert not (tmp_path / "run-history.jsonl").exists()  # nothing passed off as whole


@pytest.mark.slow
async def test_cancelling_a_distributed_run_stops_the_master_and_every_worker(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    async with FakeProducts(replicas=1) as fake:
        load = asyncio.ensure_future(_run(fake.url, tmp_path, lines, duration_s=60))
        await eventually(lambda: any(line.startswith("progress:") for line in lines), 30)
        assert len(_locust_children()) == 3
        load.cancel()
        with pytest.raises(asyncio.CancelledError):
            await load
    assert _locust_children() == {}
