"""``benchmarks/startup_time.py`` fails like a tool should: one line on stderr and a status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "startup_time.py"


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("args", [["--runs", "0"], ["--replicas", "-1"], ["--runs", "many"]])
def test_bad_options_are_one_line_and_status_2(args: list[str]) -> None:
    result = run_script(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_stack_that_does_not_come_up_is_one_line_and_status_1() -> None:
    result = run_script("--runs", "1", "--replicas", "33")  # `lbdemo up` allows 1 to 32
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--replicas must be between 1 and 32" in result.stderr
