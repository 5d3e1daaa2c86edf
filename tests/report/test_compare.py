"""Runs side by side: context, a warning when settings differ, one number format, headline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lbdemo.report import compare_reports, headline, settings_warning
from lbdemo.report.figures import COUNT, MILLISECONDS, PERCENT, difference, figure
from tests.report.reportkit import AUDIT, CLEAN, CLEAN_AUDIT, STALE, make_report, scenario_run


@pytest.fixture
def private_shared(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    private = make_report(tmp_path / "a", STALE, AUDIT, scenario_run("private", "private"))
    shared = make_report(
        tmp_path / "b", CLEAN, CLEAN_AUDIT, scenario_run("shared", "shared-volume")
    )
    return private, shared


def rows(markdown: str, section: str) -> dict[str, list[str]]:
    """The cells of one section's table, by the first cell."""
    text = markdown.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in lines
    }


def test_figures_have_one_format_per_unit_and_signed_differences() -> None:
    assert figure(54906, COUNT) == "54,906"
    assert figure(0.44641, PERCENT) == "44.64 %"
    assert figure(6.0, MILLISECONDS) == "6.00"
    assert figure(None, COUNT) == "–"
    assert difference(50514, 8014, COUNT) == "-42,500"
    assert difference(100, 250, COUNT) == "+150"
    assert difference(0.1, 0.1, PERCENT) == "0.00 pp"
    assert difference(0.2, 0.1 + 1e-12, PERCENT) == "-10.00 pp"
    assert difference(1.0, 1.001, MILLISECONDS) == "0.00"  # never "+0.00" or "-0.00"
    assert difference(None, 3, COUNT) == ""


def test_columns_are_headed_by_each_runs_label_and_layout(
    private_shared: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    text = compare_reports(list(private_shared))
    header = [
        c.strip()
        for c in text.split("## Results\n")[1].split("\n|", 1)[1].split("\n")[0].split("|")[:-1]
    ]
    assert header == ["metric", "private", "shared (shared-volume)", "difference"]


def test_runs_section_shows_settings_layout_date_command_and_files(
    private_shared: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    text = compare_reports(list(private_shared))
    runs = rows(text, "Runs")
    assert runs["duration (s)"] == ["20.0", "20.0", "0.0"]
    assert runs["users"] == ["20", "20", "0"]
    assert runs["write ratio"] == ["30.00 %", "30.00 %", "0.00 pp"]
    assert runs["strategy"] == ["round-robin", "round-robin", ""]
    assert runs["layout"] == ["private", "shared-volume", "differs"]
    assert runs["started"][0] == "2026-11-27 19:21:41 UTC"
    assert "one PostgreSQL per replica, in its container layer" in text
    assert "private-history.jsonl" in text and "shared-audit.json" in text
    assert "`lbdemo demo`" in text
    assert "Warning" not in text  # same settings: nothing to warn about


def test_different_durations_are_warned_about_in_one_line(tmp_path: Path) -> None:
    long = make_report(tmp_path / "a", STALE, AUDIT, scenario_run("private", "private"))
    short = make_report(
        tmp_path / "b",
        CLEAN,
        CLEAN_AUDIT,
        scenario_run("shared", "shared-volume", duration_s=10.0, users=30),
    )
    warning = settings_warning([long, short])
    assert warning == (
        "these runs differ in duration (s) 20.0 / 10.0; users 20 / 30: "
        "compare their rates, not their counts"
    )
    assert compare_reports([long, short]).startswith(f"> **Warning:** {warning}\n")


def test_rates_come_before_counts_in_one_number_format(
    private_shared: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    text = compare_reports(list(private_shared))
    results = rows(text, "Results")
    labels = list(results)
    assert labels.index("stale-read rate") < labels.index("operations")
    assert labels.index("lost-write rate") < labels.index("stale reads")
    assert results["stale-read rate"] == ["33.33 %", "0.00 %", "-33.33 pp"]
    assert results["stale reads"] == ["1", "0", "-1"]
    assert results["operations"] == ["5", "6", "+1"]
    assert results["verdict"] == ["inconsistent", "consistent", "differs"]
    # No relative changes in parentheses, no bare floats with three decimals.
    assert not re.search(r"\(\+?-?\d+%\)|\d\.\d{3}\b", text.split("## Results")[1])


def test_a_measure_without_audit_is_a_dash_not_a_zero(tmp_path: Path) -> None:
    audited = make_report(tmp_path / "a", STALE, AUDIT, scenario_run("private", "private"))
    unaudited = make_report(tmp_path / "b", CLEAN, None, scenario_run("shared", "shared-volume"))
    results = rows(compare_reports([audited, unaudited]), "Results")
    assert results["lost writes"] == ["0", "–", ""]
    assert results["divergent keys"] == ["2", "–", ""]


def test_difference_column_only_for_exactly_two_runs_and_equal_labels_are_numbered(
    private_shared: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    private, shared = private_shared
    text = compare_reports([private, shared, private])
    assert "difference" not in text
    results = rows(text, "Results")
    assert results["stale reads"] == ["1", "0", "1"]
    header = [c.strip() for c in text.split("\n")[2].split("|")[1:-1]]
    assert header == ["setting", "1: private", "2: shared (shared-volume)", "3: private"]
    with pytest.raises(ValueError, match="two reports or more"):
        compare_reports([private])


def test_two_runs_fit_in_100_columns_except_long_words(
    private_shared: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    for line in compare_reports(list(private_shared)).splitlines():
        assert len(line) <= 100 or " " not in line.strip(), line


def test_headline_lists_verdict_and_the_five_numbers_within_100_columns(
    private_shared: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    text = headline(list(private_shared))
    lines = text.splitlines()
    assert len(lines) == 4 and all(len(line) <= 100 for line in lines)
    assert "\033[" not in text
    assert lines[2].split() == ["private", "inconsistent", "33.33", "%", "1", "0", "2", "0"]
    assert lines[3].split() == [
        "shared",
        "(shared-volume)",
        "consistent",
        "0.00",
        "%",
        "0",
        "0",
        "0",
        "0",
    ]
    assert "stale-read" in lines[0] and "violations" in lines[1]


def test_headline_colours_the_verdict_only_when_asked(
    private_shared: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    coloured = headline(list(private_shared), color=True)
    assert "\033[1;31minconsistent\033[0m" in coloured
    assert "\033[32mconsistent\033[0m" in coloured
    plain = re.sub(r"\033\[[0-9;]*m", "", coloured)
    assert plain == headline(list(private_shared))  # colour changes no alignment


def test_a_label_with_a_pipe_or_newline_stays_in_its_cell(tmp_path: Path) -> None:
    odd = make_report(tmp_path / "a", STALE, AUDIT, scenario_run("private", "private"))
    odd["run"]["label"] = "a|b\nc"
    other = make_report(tmp_path / "b", CLEAN, CLEAN_AUDIT, scenario_run("shared", "shared-volume"))
    text = compare_reports([odd, other])
    header = next(line for line in text.splitlines() if line.startswith("| setting"))
    assert "a\\|b c (private)" in header
    assert len(re.findall(r"(?<!\\)\|", header)) == 5  # four cells: five unescaped bars


def test_headline_fits_80_columns_with_each_name_on_its_own_line(
    private_shared: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    wide = headline(list(private_shared))
    assert max(len(line) for line in wide.splitlines()) > 80  # this pair needs the narrow form
    narrow = headline(list(private_shared), width=80).splitlines()
    assert all(len(line) <= 80 for line in narrow), narrow
    assert narrow[2] == "private" and narrow[4] == "shared (shared-volume)"
    assert narrow[3].split() == ["inconsistent", "33.33", "%", "1", "0", "2", "0"]
    assert narrow[5].split() == ["consistent", "0.00", "%", "0", "0", "0", "0"]
    # Wide enough: one line per run, as before.
    assert headline(list(private_shared), width=200) == wide
    coloured = headline(list(private_shared), color=True, width=80)
    assert re.sub(r"\033\[[0-9;]*m", "", coloured) == "\n".join(narrow)
