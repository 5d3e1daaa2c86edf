"""``lbdemo up`` as a user runs it: a real process tree, stopped by Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lbdemo.process.pids import pid_alive
from tests.utils import up_process

pytestmark = pytest.mark.slow


def read_description(process: subprocess.Popen[str], timeout_s: float = 60) -> dict:
    """Read ``up --json``'s multi-line JSON description from its stdout."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"lbdemo up exited early: {process.wait()}")
        lines.append(line)
        if line.rstrip() == "}":
            return json.loads("".join(lines))
    raise AssertionError("no description in time")


@pytest.mark.parametrize("storage", ["private", "shared"])
def test_up_then_sigint_leaves_no_child_alive_and_restarts_cleanly(
    tmp_path: Path, storage: str
) -> None:
    for _ in range(2):  # the second run on the same state root must start cleanly too
        with up_process(tmp_path, "--replicas", "2", "--storage", storage, "--json") as process:
            description = read_description(process)
            pids = [description["balancer"]["pid"]]
            pids += [r["pid"] for r in description["replicas"]]
            pids += [r["store_pid"] for r in description["replicas"] if r["store_pid"]]
            if description["layout"].get("pid"):
                pids.append(description["layout"]["pid"])
            assert len(pids) == (5 if storage == "private" else 4)
            assert all(pid_alive(pid) for pid in pids)
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0
        assert not [pid for pid in pids if pid_alive(pid)]


def test_bad_flags_are_one_line_and_status_2(tmp_path: Path) -> None:
    for args in (
        ["--replicas", "0"],
        ["--storage", "cloud"],
        ["--dsn", "mysql://x"],
        ["--storage", "private", "--dsn", "postgresql://x"],
        ["--port", "99999"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "lbdemo", "up", "--state", str(tmp_path), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
