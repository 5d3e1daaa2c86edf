"""The JSON report's fields, its Markdown rendering, and the side-by-side comparison."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lbdemo.errors import UsageError
from lbdemo.report import (
    REPORT_FORMAT,
    load_report,
    render_markdown,
    write_json,
)
from lbdemo.report.stats import percentile
from tests.report.reportkit import AUDIT, CLEAN, STALE, make_report, scenario_run

RUN = scenario_run("private", "private")


def test_report_has_every_documented_field(tmp_path: Path) -> None:
    report = make_report(tmp_path, STALE, AUDIT, RUN)
    assert report["format"] == REPORT_FORMAT
    assert report["run"] == RUN
    assert report["verdict"] == "inconsistent"
    assert set(report) >= {
        "totals",
        "measured_duration_s",
        "ops_per_s",
        "latency_ms",
        "anomalies",
        "replicas",
        "divergent_keys",
        "lost_writes",
        "linearizability",
        "explained_anomalies",
        "audited",
    }
    totals = report["totals"]
    assert (totals["ops"], totals["reads"], totals["writes"]) == (5, 3, 2)
    assert totals["by_outcome"] == {"ok": 5, "fail": 0, "unknown": 0}
    for which in ("all", "reads", "writes"):
        assert set(report["latency_ms"][which]) >= {"p50", "p95", "p99"}
    assert report["latency_ms"]["writes"]["p99"] == pytest.approx(20.0)
    assert report["anomalies"]["stale_read"] == {"count": 1, "rate": pytest.approx(1 / 3)}
    assert set(report["anomalies"]) == {
        "stale_read",
        "read_your_writes",
        "monotonic_read",
        "garbage_read",
        "lost_write",
    }
    assert report["divergent_keys"] == {"count": 2, "examples": ["p1", "p2"]}
    assert report["linearizability"]["verdict"] == "not linearizable"
    assert report["linearizability"]["keys_not_linearizable"] == 1
    assert report["linearizability"]["keys_linearizable"] == 2
    assert report["explained_anomalies"][0]["kind"] == "stale_read"
    json.dumps(report)  # JSON-ready as built


def test_per_replica_breakdown_counts_ops_stale_reads_and_audited_rows(tmp_path: Path) -> None:
    report = make_report(tmp_path, STALE, AUDIT)
    assert report["replicas"] == [
        {"replica": "r1", "ops": 1, "reads": 0, "writes": 1, "stale_reads": 0, "rows": 1},
        {"replica": "r2", "ops": 4, "reads": 3, "writes": 1, "stale_reads": 1, "rows": 1},
    ]


def test_clean_run_without_audit_is_consistent_and_leaves_audit_fields_empty(
    tmp_path: Path,
) -> None:
    report = make_report(tmp_path, CLEAN)
    assert report["verdict"] == "consistent"
    assert report["audited"] is False
    assert report["lost_writes"]["count"] is None
    assert report["divergent_keys"]["count"] is None
    assert report["totals"]["by_outcome"]["fail"] == 1
    assert report["totals"]["ops_without_replica"] == 1


def test_percentile_is_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_markdown_shows_verdict_summary_replicas_and_explanations(tmp_path: Path) -> None:
    text = render_markdown(make_report(tmp_path, STALE, AUDIT))
    assert text.startswith("# lbdemo report: private\n")
    assert "**Verdict: INCONSISTENT**: 1 stale reads (33.33%)" in text
    assert "| stale reads " in text
    assert "## Per replica" in text
    assert re.search(r"^\| r2 +\| +4 \| +3 \| +1 \| +1 \| +1 \|$", text, re.M)
    assert "## Explained anomalies" in text
    assert "read by u2 at t=0.100s on p1 served by r2 returned not found" in text
    assert "Divergent keys (first 2): p1, p2" in text


def test_markdown_run_table_flattens_nested_meta(tmp_path: Path) -> None:
    run = {"label": "s", "locust": {"exit_code": 0, "failures": None}}
    text = render_markdown(make_report(tmp_path, CLEAN, run=run))
    assert re.search(r"^\| locust\.exit_code +\| 0 +\|$", text, re.M)
    assert re.search(r"^\| locust\.failures +\| – +\|$", text, re.M)


def test_markdown_of_a_clean_run_says_so(tmp_path: Path) -> None:
    text = render_markdown(make_report(tmp_path, CLEAN))
    assert "**Verdict: CONSISTENT**: no anomaly in 3 reads and 2 acknowledged writes" in text
    assert "## Explained anomalies" not in text


def test_report_files_round_trip_and_non_reports_are_usage_errors(tmp_path: Path) -> None:
    report = make_report(tmp_path, CLEAN)
    write_json(tmp_path / "r.json", report)
    assert load_report(tmp_path / "r.json") == report
    (tmp_path / "x.json").write_text('{"format": "other"}')
    with pytest.raises(UsageError, match="not an lbdemo report"):
        load_report(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("[1")
    with pytest.raises(UsageError, match="not JSON"):
        load_report(tmp_path / "y.json")
    with pytest.raises(UsageError, match="cannot read report"):
        load_report(tmp_path / "missing.json")


def test_an_older_report_format_is_refused_with_one_line_naming_both_versions(
    tmp_path: Path,
) -> None:
    old = make_report(tmp_path, CLEAN) | {"format": "lbdemo-report/1"}
    write_json(tmp_path / "old.json", old)
    with pytest.raises(UsageError) as caught:
        load_report(tmp_path / "old.json")
    message = str(caught.value)
    assert "a lbdemo-report/1 report" in message and REPORT_FORMAT in message
    assert "\n" not in message


def test_write_json_refuses_non_finite_numbers_and_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    with pytest.raises(UsageError, match="not JSON compliant"):
        write_json(target, {"ops_per_s": float("inf")})
    with pytest.raises(UsageError):
        write_json(target, {"rate": float("nan")})
    assert list(tmp_path.iterdir()) == []


def test_write_json_replaces_whole_files_and_names_an_unwritable_path(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_json(target, {"a": [1, 2]})
    write_json(target, {"b": "é"})
    assert target.read_text(encoding="utf-8") == '{\n  "b": "\\u00e9"\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no partial file left behind
    with pytest.raises(UsageError, match=r"cannot write .*missing/r\.json"):
        write_json(tmp_path / "missing" / "r.json", {})


def test_markdown_title_names_the_label_and_a_layout_of_another_name(tmp_path: Path) -> None:
    report = make_report(tmp_path, CLEAN, run=scenario_run("shared", "shared-volume"))
    assert render_markdown(report).startswith("# lbdemo report: shared (shared-volume layout)\n")


@pytest.mark.parametrize(
    "path, value, said",
    [
        ("run", "x", "run is str"),
        ("anomalies.stale_read", 5, "anomalies.stale_read is int"),
        ("anomalies.stale_read.count", "1", "anomalies.stale_read.count is str"),
        ("totals.ops", True, "totals.ops is bool"),
        ("latency_ms.all.p99", [1], "latency_ms.all.p99 is list"),
        ("linearizability.witnesses", [{"key": "p1"}], "witnesses holds an entry without key and"),
        ("replicas", [1], "replicas holds an entry without replica"),
        ("lost_writes", None, "lost_writes is NoneType"),
        ("latency_ms", "deleted", "no latency_ms.all"),
    ],
)
def test_a_malformed_report_is_refused_in_one_line_before_anything_reads_it(
    tmp_path: Path, path: str, value: Any, said: str
) -> None:
    report = make_report(tmp_path, STALE, AUDIT)
    *parents, last = path.split(".")
    target = report
    for key in parents:
        target = target[key]
    if value == "deleted":
        target[last] = {}
    else:
        target[last] = value
    write_json(tmp_path / "bad.json", report)
    with pytest.raises(UsageError, match="malformed lbdemo report") as caught:
        load_report(tmp_path / "bad.json")
    assert said in str(caught.value) and "\n" not in str(caught.value)
