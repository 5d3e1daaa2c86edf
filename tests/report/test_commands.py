"""``lbdemo check`` and ``lbdemo compare`` from the command line: outputs and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from reportkit import CLEAN, STALE, write_history

from lbdemo.cli import main


@pytest.fixture
def reports(tmp_path: Path) -> tuple[Path, Path]:
    """A consistent and an inconsistent report, written by ``lbdemo check --history --json``."""
    clean = write_history(tmp_path / "clean.jsonl", CLEAN)
    stale = write_history(tmp_path / "stale.jsonl", STALE)
    assert main(["check", "--history", str(clean), "--json", str(tmp_path / "clean.json")]) == 0
    assert main(["check", "--history", str(stale), "--json", str(tmp_path / "stale.json")]) == 0
    return tmp_path / "clean.json", tmp_path / "stale.json"


def test_check_expect_holds_exits_0(
    reports: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    clean, stale = reports
    capsys.readouterr()
    assert main(["check", str(clean), "--expect", "consistent"]) == 0
    assert main(["check", str(stale), "--expect", "inconsistent"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("as expected: consistent (no anomaly in 3 reads")
    assert out[1] == "as expected: inconsistent (1 stale reads (33.33%), 1 keys not linearizable)"


def test_check_expect_not_holding_exits_1_with_one_line(
    reports: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    clean, stale = reports
    capsys.readouterr()
    assert main(["check", str(stale), "--expect", "consistent"]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("expected consistent, but the run is inconsistent (1 stale reads")
    assert main(["check", str(clean), "--expect", "inconsistent"]) == 1


def test_check_bad_input_exits_2(
    tmp_path: Path, reports: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    clean, _ = reports
    (tmp_path / "not-a-report.json").write_text('{"hello": 1}')
    assert main(["check", str(tmp_path / "missing.json"), "--expect", "consistent"]) == 2
    assert main(["check", str(tmp_path / "not-a-report.json"), "--expect", "consistent"]) == 2
    assert main(["check", "--expect", "consistent"]) == 2  # neither report nor history
    assert main(["check", str(clean), "--audit", "a.json"]) == 2  # audit needs --history
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("lbdemo: error: cannot read report")
    assert "not an lbdemo report" in err[1]
    assert "give either a REPORT.json or --history" in err[2]


def test_check_a_history_prints_markdown_and_writes_both_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = write_history(tmp_path / "stale.jsonl", STALE)
    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps({"replicas": {"r1": {"p1": "u1-1"}, "r2": {"p2": "u1-2"}},
                                 "rows": {"r1": 1, "r2": 1}}))
    md = tmp_path / "report.md"
    status = main(["check", "--history", str(stale), "--audit", str(audit),
                   "--markdown", str(md), "--expect", "inconsistent"])
    assert status == 0
    out = capsys.readouterr().out
    assert out.startswith("# lbdemo report")
    assert "2 divergent keys" in out
    assert md.read_text().startswith("# lbdemo report")


def test_check_a_malformed_history_names_the_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_history(tmp_path / "h.jsonl", CLEAN)
    with path.open("a") as fh:
        fh.write('{"type": "op", "client": "u1"\n')
    assert main(["check", "--history", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:8: malformed history line" in err


def test_compare_prints_always_and_writes_only_with_out(
    reports: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean, stale = reports
    capsys.readouterr()
    assert main(["compare", str(clean), str(stale)]) == 0
    printed = capsys.readouterr().out
    assert "| metric" in printed and "| stale reads " in printed
    assert "clean" in printed.splitlines()[0] and "stale" in printed.splitlines()[0]
    assert not (tmp_path / "compare.md").exists()
    out = tmp_path / "compare.md"
    assert main(["compare", str(clean), str(stale), "--out", str(out)]) == 0
    assert printed in out.read_text()


def test_compare_of_a_non_report_is_one_line_status_2(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]")
    result = subprocess.run(
        [sys.executable, "-m", "lbdemo", "compare", str(tmp_path / "a.json"),
         str(tmp_path / "a.json")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "not an lbdemo report" in result.stderr
