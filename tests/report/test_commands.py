"""``lbdemo check`` and ``lbdemo compare`` from the command line: outputs and exit statuses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from lbdemo.cli import main
from lbdemo.report import write_json
from tests.report.reportkit import AUDIT, CLEAN, STALE, make_report, scenario_run, write_history


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
    audit.write_text(
        json.dumps(
            {"replicas": {"r1": {"p1": "u1-1"}, "r2": {"p2": "u1-2"}}, "rows": {"r1": 1, "r2": 1}}
        )
    )
    md = tmp_path / "report.md"
    status = main(
        [
            "check",
            "--history",
            str(stale),
            "--audit",
            str(audit),
            "--markdown",
            str(md),
            "--expect",
            "inconsistent",
        ]
    )
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
    assert re.search(r"^\| metric +\| +clean \| +stale \| difference \|$", printed, re.M)
    assert not (tmp_path / "compare.md").exists()
    out = tmp_path / "compare.md"
    assert main(["compare", str(clean), str(stale), "--out", str(out)]) == 0
    written = out.read_text()
    assert written.startswith("# clean vs stale\n")
    assert printed in written


def test_compare_of_runs_with_different_durations_warns_on_stderr_and_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long = make_report(tmp_path / "a", STALE, AUDIT, scenario_run("private", "private"))
    short = make_report(
        tmp_path / "b", CLEAN, None, scenario_run("shared", "shared-volume", duration_s=5.0)
    )
    write_json(tmp_path / "long.json", long)
    write_json(tmp_path / "short.json", short)
    out = tmp_path / "compare.md"
    assert (
        main(
            [
                "compare",
                str(tmp_path / "long.json"),
                str(tmp_path / "short.json"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert captured.err == (
        "lbdemo: warning: these runs differ in duration (s) 20.0 / 5.0: "
        "compare their rates, not their counts\n"
    )
    assert "> **Warning:** these runs differ in duration (s) 20.0 / 5.0" in out.read_text()
    assert "> **Warning:**" in captured.out


def test_compare_takes_three_reports_and_refuses_one(
    reports: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    clean, stale = reports
    capsys.readouterr()
    assert main(["compare", str(clean), str(stale), str(clean)]) == 0
    assert "difference" not in capsys.readouterr().out
    assert main(["compare", str(clean)]) == 2
    assert capsys.readouterr().err == "lbdemo: error: compare needs two reports or more\n"


def test_compare_of_a_non_report_is_one_line_status_2(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lbdemo",
            "compare",
            str(tmp_path / "a.json"),
            str(tmp_path / "a.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "not an lbdemo report" in result.stderr


def junit_cases(path: Path) -> dict[str, str]:
    """testcase name -> "passed" | "failure" | "skipped", parsed with xml.etree."""
    root = ElementTree.parse(path).getroot()
    assert root.tag == "testsuites"
    out = {}
    for case in root.iter("testcase"):
        children = {child.tag for child in case}
        out[case.attrib["name"]] = (
            "failure" if "failure" in children else "skipped" if "skipped" in children else "passed"
        )
    suite = root.find("testsuite")
    assert suite is not None
    assert int(suite.attrib["tests"]) == len(out)
    assert int(suite.attrib["failures"]) == sum(v == "failure" for v in out.values())
    return out


KIND_CASES = [
    "stale reads",
    "read-your-writes violations",
    "monotonic-read violations",
    "garbage reads",
    "lost writes",
    "divergent keys",
    "linearizability",
]


def test_check_junit_has_one_testcase_per_anomaly_kind_and_fails_the_violated_ones(
    reports: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean, stale = reports
    junit = tmp_path / "junit.xml"
    assert main(["check", str(stale), "--expect", "consistent", "--junit", str(junit)]) == 1
    cases = junit_cases(junit)
    assert list(cases) == ["verdict", *KIND_CASES]
    assert cases["verdict"] == cases["stale reads"] == cases["linearizability"] == "failure"
    assert cases["read-your-writes violations"] == "passed"
    assert cases["lost writes"] == "skipped"  # no audit: not measured
    failure = ElementTree.parse(junit).getroot().find(".//testcase[@name='stale reads']/failure")
    assert failure is not None and "returned not found" in (failure.text or "")
    capsys.readouterr()
    assert main(["check", str(clean), "--expect", "consistent", "--junit", str(junit)]) == 0
    assert set(junit_cases(junit).values()) == {"passed", "skipped"}


def test_check_junit_without_limits_checks_nothing_and_exits_0(
    reports: tuple[Path, Path], tmp_path: Path
) -> None:
    _, stale = reports
    junit = tmp_path / "junit.xml"
    assert main(["check", str(stale), "--junit", str(junit)]) == 0
    assert set(junit_cases(junit).values()) == {"skipped"}


def test_check_max_stale_rate_passes_and_fails_on_the_rate(
    reports: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, stale = reports  # 1 stale read in 3 reads
    capsys.readouterr()
    assert main(["check", str(stale), "--max-stale-rate", "0.34"]) == 0
    assert capsys.readouterr().out == (
        "ok: stale-read rate 33.33 % (1 stale reads), limit 34.00 % (--max-stale-rate 0.34)\n"
    )
    junit = tmp_path / "junit.xml"
    assert main(["check", str(stale), "--max-stale-rate", "0.01", "--junit", str(junit)]) == 1
    assert capsys.readouterr().out.startswith("over the limit: stale-read rate 33.33 %")
    cases = junit_cases(junit)
    assert cases["stale reads"] == "failure" and cases["garbage reads"] == "skipped"


def test_check_max_lost_writes_counts_lost_writes_and_needs_an_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The audit finds u1-1 on no replica: one lost acknowledged write.
    history = write_history(tmp_path / "h.jsonl", CLEAN)
    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps({"replicas": {"r1": {"p2": "u1-2"}, "r2": {"p2": "u1-2"}}}))
    args = ["check", "--history", str(history), "--audit", str(audit)]
    assert main([*args, "--max-lost-writes", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "ok: 1 lost writes, limit 1 (--max-lost-writes 1)"
    )
    assert main([*args, "--max-lost-writes", "0"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("over the limit: 1 lost writes")
    # Without a final audit lost writes were not measured: the limit cannot be shown to hold.
    assert main(["check", "--history", str(history), "--max-lost-writes", "5"]) == 1
    assert "lost writes not measured" in capsys.readouterr().out


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--max-stale-rate", "1.5", "must be a ratio from 0 to 1"),
        ("--max-stale-rate", "-0.1", "must be a ratio from 0 to 1"),
        ("--max-stale-rate", "nan", "must be a ratio from 0 to 1"),
        ("--max-stale-rate", "lots", "not a number"),
        ("--max-lost-writes", "-1", "must be 0 or more"),
        ("--max-lost-writes", "2.5", "not a whole number"),
    ],
)
def test_check_limits_out_of_range_are_one_line_status_2(
    reports: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    flag: str,
    value: str,
    message: str,
) -> None:
    clean, _ = reports
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["check", str(clean), flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_check_junit_to_an_unwritable_path_is_status_2(
    reports: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean, _ = reports
    assert main(["check", str(clean), "--junit", str(tmp_path / "no" / "j.xml")]) == 2
    assert capsys.readouterr().err.startswith("lbdemo: error: cannot write")


def test_check_of_a_history_records_its_provenance_and_label(
    tmp_path: Path,
) -> None:
    history = write_history(tmp_path / "private-history.jsonl", CLEAN)
    out = tmp_path / "r.json"
    assert main(["check", "--history", str(history), "--json", str(out)]) == 0
    run = json.loads(out.read_text())["run"]
    assert run["label"] == "private"
    assert run["command"] == f"lbdemo check --history {history} --json {out}"
    assert run["postgresql"] is None
    assert {"lbdemo_version", "git_commit", "host", "load_average", "python"} <= set(run)


def test_check_and_compare_of_a_malformed_report_exit_2_in_one_line(
    reports: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean, _ = reports
    report = json.loads(clean.read_text())
    report["anomalies"]["stale_read"]["rate"] = "high"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(report))
    capsys.readouterr()
    assert (
        main(["check", str(bad), "--max-stale-rate", "0.1", "--junit", str(tmp_path / "j.xml")])
        == 2
    )
    assert main(["compare", str(clean), str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert (
        err
        == [f"lbdemo: error: {bad}: malformed lbdemo report (anomalies.stale_read.rate is str)"] * 2
    )
    assert not (tmp_path / "j.xml").exists()


def test_outputs_that_name_an_input_file_are_refused_before_anything_is_written(
    reports: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean, stale = reports
    before = clean.read_text()
    history = write_history(tmp_path / "h.jsonl", CLEAN)
    capsys.readouterr()
    assert main(["compare", str(clean), str(stale), "--out", str(clean)]) == 2
    assert main(["check", str(clean), "--junit", str(clean)]) == 2
    assert main(["check", "--history", str(history), "--json", str(history)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"lbdemo: error: --out {clean} is one of the input files; choose another name"
    assert err[1].startswith("lbdemo: error: --junit")
    assert err[2].startswith("lbdemo: error: --json")
    assert clean.read_text() == before
    assert json.loads(history.read_text().splitlines()[0])["type"] == "header"
