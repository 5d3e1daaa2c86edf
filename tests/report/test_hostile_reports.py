"""Hostile report files: `check` and `compare` agree, in one line naming what was found (issue
21, item 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lbdemo.files import write_json
from tests.report.reportkit import CLEAN, make_report
from tests.utils import run_cli


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.json"
    write_json(path, make_report(tmp_path / "run", CLEAN))
    return path


def _variant(good: Path, name: str, edit: str) -> Path:
    """``good`` with the first ``"ops": N`` of its totals replaced by ``edit``'s text."""
    text = good.read_text()
    data = json.loads(text)
    ops = data["totals"]["ops"]
    marker = f'"ops": {ops},'
    assert marker in text
    path = good.with_name(name)
    path.write_text(text.replace(marker, f'"ops": {edit},', 1))
    return path


def _refused_by_check_and_compare(path: Path, good: Path) -> list[str]:
    lines = []
    for args in (["check", str(path)], ["compare", str(good), str(path)]):
        result = run_cli(*args)
        assert result.status == 2, (args, result)
        assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
        lines.append(result.err)
    return lines


def test_a_count_of_401_digits_is_refused_by_both_check_and_compare(
    good: Path,
) -> None:
    path = _variant(good, "big.json", "1" + "0" * 400)
    for line in _refused_by_check_and_compare(path, good):
        assert "401 digits" in line, line


@pytest.mark.parametrize(("value", "named"), [("NaN", "NaN"), ("-Infinity", "-Infinity")])
def test_non_finite_numbers_are_named(good: Path, value: str, named: str) -> None:
    path = _variant(good, "nan.json", value)
    for line in _refused_by_check_and_compare(path, good):
        assert f"found {named}" in line, line


def test_a_float_beyond_a_double_is_named(good: Path) -> None:
    path = _variant(good, "huge.json", "1e400")
    for line in _refused_by_check_and_compare(path, good):
        assert "1e400" in line, line


def test_a_report_nested_deep_is_one_line_naming_the_depth(good: Path) -> None:
    path = _variant(good, "deep.json", "[" * 5000 + "]" * 5000)
    for line in _refused_by_check_and_compare(path, good):
        assert "5,002 levels" in line, line


def test_a_byte_order_mark_is_named(good: Path) -> None:
    path = good.with_name("bom.json")
    path.write_bytes(b"\xef\xbb\xbf" + good.read_bytes())
    for line in _refused_by_check_and_compare(path, good):
        assert "byte-order mark" in line, line
