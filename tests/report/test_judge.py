"""Judgements of a report against limits, and their JUnit XML."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from lbdemo.report import Limits, judge, junit_xml
from tests.report.reportkit import AUDIT, CLEAN, CLEAN_AUDIT, STALE, make_report


def by_name(report: dict, limits: Limits) -> dict[str, bool | None]:
    return {j.name: j.passed for j in judge(report, limits)}


def test_without_limits_nothing_is_checked_so_nothing_passes(tmp_path: Path) -> None:
    results = by_name(make_report(tmp_path, STALE, AUDIT), Limits())
    assert set(results.values()) == {None}
    assert "verdict" not in results


def test_expect_consistent_allows_no_anomaly_of_any_kind(tmp_path: Path) -> None:
    stale = by_name(make_report(tmp_path / "s", STALE, AUDIT), Limits(expect="consistent"))
    assert stale["verdict"] is False and stale["stale reads"] is False
    assert stale["divergent keys"] is False and stale["linearizability"] is False
    assert stale["read-your-writes violations"] is True
    clean = by_name(make_report(tmp_path / "c", CLEAN, CLEAN_AUDIT), Limits(expect="consistent"))
    assert set(clean.values()) == {True}


def test_expect_inconsistent_judges_only_the_verdict(tmp_path: Path) -> None:
    judged = judge(make_report(tmp_path, STALE, AUDIT), Limits(expect="inconsistent"))
    assert [(j.name, j.passed) for j in judged if j.passed is not None] == [("verdict", True)]
    assert [j.message for j in judged if j.asked] == [
        "as expected: inconsistent (1 stale reads (33.33%), 1 keys not linearizable, "
        "2 divergent keys)"
    ]


def test_a_threshold_replaces_the_none_allowed_rule_for_its_kind(tmp_path: Path) -> None:
    report = make_report(tmp_path, STALE, AUDIT)
    judged = by_name(report, Limits(expect="consistent", max_stale_rate=0.5))
    assert judged["stale reads"] is True  # 33 % <= 50 %, though --expect consistent
    assert judged["verdict"] is False


def test_junit_survives_characters_xml_cannot_hold(tmp_path: Path) -> None:
    report = make_report(tmp_path, STALE, AUDIT)
    report["explained_anomalies"][0]["explanation"] = "read by u\x01 \ud800 returned not found"
    report["run"]["label"] = "odd\x1b[31m"
    xml = junit_xml(report, judge(report, Limits(expect="consistent")), suite="odd\x00suite")
    root = ElementTree.fromstring(xml)
    failure = root.find(".//testcase[@name='stale reads']/failure")
    assert failure is not None and "read by u\ufffd \ufffd returned" in (failure.text or "")
    assert root.find("testsuite").attrib["name"] == "odd\ufffdsuite"  # type: ignore[union-attr]
