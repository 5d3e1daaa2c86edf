"""The provenance every report's ``run`` carries: command, code, machine, load, versions."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

import lbdemo
from lbdemo.report.provenance import (
    cpu_model,
    git_commit,
    run_provenance,
)

REPO = Path(lbdemo.__file__).resolve().parent.parent
SHA = "0123456789abcdef0123456789abcdef01234567"


def test_run_provenance_has_every_field_with_its_type() -> None:
    began = time.monotonic()
    prov = run_provenance(["demo", "--duration", "5", "--out", "my results"], postgresql="18.6")
    assert time.monotonic() - began < 0.5  # fast: no process spawned
    assert prov["command"] == "lbdemo demo --duration 5 --out 'my results'"
    assert prov["lbdemo_version"] == lbdemo.__version__
    assert prov["python"] == platform.python_version()
    assert prov["postgresql"] == "18.6"
    host = prov["host"]
    assert host["cpus"] == os.cpu_count()
    assert isinstance(host["memory_bytes"], int) and host["memory_bytes"] > 2**20
    assert host["cpu_model"] is None or isinstance(host["cpu_model"], str)
    load = prov["load_average"]
    assert len(load) == 3 and all(isinstance(x, float) and x >= 0 for x in load)
    json.dumps(prov, allow_nan=False)
    assert run_provenance([], postgresql=None)["postgresql"] is None


def test_git_commit_is_the_checked_out_commit_read_without_git() -> None:
    if not (REPO / ".git").exists():
        assert git_commit(REPO) is None
        return
    expected = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert git_commit(REPO / "lbdemo") == expected.stdout.strip()


def test_git_commit_reads_packed_refs_detached_heads_and_worktrees(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "packed-refs").write_text(
        f"# pack-refs with: peeled fully-peeled sorted\n{SHA} refs/heads/main\n"
    )
    assert git_commit(repo / "src" / "pkg") == SHA
    (repo / ".git" / "HEAD").write_text(SHA.replace("0", "f") + "\n")
    assert git_commit(repo) == SHA.replace("0", "f")
    # A linked worktree: .git is a file; HEAD is its own, refs are the main repository's.
    gitdir = repo / ".git" / "worktrees" / "wt"
    gitdir.mkdir(parents=True)
    (gitdir / "HEAD").write_text("ref: refs/heads/topic\n")
    (gitdir / "commondir").write_text("../..\n")
    (repo / ".git" / "refs" / "heads" / "topic").write_text(SHA + "\n")
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {gitdir}\n")
    assert git_commit(tmp_path / "wt") == SHA


def test_git_commit_is_none_outside_a_repository_or_on_garbage(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
    (tmp_path / ".git").mkdir()
    assert git_commit(tmp_path) is None  # no HEAD
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/nowhere\n")
    assert git_commit(tmp_path) is None
    (tmp_path / ".git" / "HEAD").write_bytes(b"\xff\xfe garbage")
    assert git_commit(tmp_path) is None


def test_cpu_model_reads_proc_cpuinfo_and_survives_its_absence(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Example CPU @ 3.0GHz\n")
    assert cpu_model(info) == "Example CPU @ 3.0GHz"
    assert cpu_model(tmp_path / "missing") in (platform.processor() or None,)
