"""``lbdemo soak``: bounded options refused in one line; a tiny real soak writes its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils import THINK_MS, run_cli


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--minutes", "61"], "--minutes must be more than 0 and at most 60"),
        (["--minutes", "0"], "--minutes must be more than 0"),
        (["--minutes", "1", "--replicas", "2"], "at least 3 replicas"),
        (["--minutes", "1", "--fault-every", "0"], "--fault-every must be positive"),
        (["--minutes", "1", "--think-time", "-5"], "--think-time must be between 0 and"),
    ],
)
def test_soak_refuses_unbounded_or_bad_options_in_one_line(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    result = run_cli("soak", *argv, "--state", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.status == 2
    assert message in result.err and result.err.count("\n") == 1
    assert not (tmp_path / "out").exists(), "nothing ran"


@pytest.mark.slow
def test_a_short_soak_samples_memory_and_descriptors_and_injects_faults(
    tmp_path: Path, state_dir: Path
) -> None:
    out = tmp_path / "out"
    argv = [
        sys.executable,
        "-m",
        "lbdemo",
        "soak",
        "--minutes",
        "1",
        "--seconds",
        "15",
        "--fault-every",
        "5",
        "--sample-every",
        "1",
        "--warmup",
        "1",
        "--users",
        "4",
        "--think-time",
        str(THINK_MS),
        "--state",
        str(state_dir),
        "--out",
        str(out),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=150)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    data = json.loads((out / "soak.json").read_text())
    assert data["format"] == "lbdemo-soak/1"
    names = {p["name"] for p in data["processes"]}
    assert {"balancer", "lbdemo-r2", "lbdemo-r3"} <= names
    for p in data["processes"]:
        assert p["rss_kib"]["start"] > 1000 and p["rss_kib"]["max"] >= p["rss_kib"]["end"]
        assert p["fds"]["start"] > 3
    balancer = next(p for p in data["processes"] if p["name"] == "balancer")
    assert balancer["samples"] >= 8
    assert [f["fault"] for f in data["faults"]] == ["kill-replica", "pause-replica"]
    assert data["stale_reads"] == 0 and data["lost_writes"] == 0
    assert (done.returncode == 1) == bool(data["goal_problems"])
    markdown = (out / "soak.md").read_text()
    assert "`lbdemo soak --minutes 1 --seconds 15" in markdown
    assert "| balancer |" in markdown and "VmRSS" in markdown
    assert (out / "soak-run.json").exists()
