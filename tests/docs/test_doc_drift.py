"""Facts the docs state about the code, checked against the code: each of these drifted once
(issue 19: found by running every command of README.md and docs/ by hand)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lbdemo.demo.faults import DEFAULT_DURATION_S
from lbdemo.report import REPORT_FORMAT
from tests.docs.commands import all_parsers, parser_for
from tests.docs.markdown import ROOT
from tests.utils import run_cli

DOCS = ROOT / "docs"


@pytest.mark.parametrize(
    "words", [words for words, _ in all_parsers()], ids=lambda words: " ".join(words)
)
def test_help_prints_no_literal_percent_signs(words: tuple[str, ...]) -> None:
    # argparse %-formats help strings but not descriptions: `%%` in a description prints as is
    parser, _ = parser_for(words)
    assert "%%" not in parser.format_help()


def test_demo_help_gives_the_faults_scenarios_real_default_duration() -> None:
    parser, _ = parser_for(("lbdemo", "demo"))
    text = " ".join(parser.format_help().split())
    assert f"{DEFAULT_DURATION_S:g} for --scenario faults" in text


def _report_table_fields(text: str) -> set[str]:
    section = text.split("## The report", 1)[1].split("\n## ", 1)[0]
    fields: set[str] = set()
    for row in re.findall(r"^\| (`[^|]+) \|", section, re.MULTILINE):
        fields |= set(re.findall(r"`(\w+)`", row))
    return fields


def test_checker_doc_names_the_report_format_and_every_field() -> None:
    text = (DOCS / "checker.md").read_text()
    assert f'## The report (`"format": "{REPORT_FORMAT}"`)' in text
    old = [f for f in set(re.findall(r"lbdemo-report/\d+", text)) if f != REPORT_FORMAT]
    assert not old, f"docs/checker.md names an older report format: {old}"
    schema = json.loads(
        (DOCS / "schemas" / f"{REPORT_FORMAT.replace('/', '-')}.schema.json").read_text()
    )
    fields = set(schema["properties"])
    for path in (ROOT / "results").rglob("*.json"):
        report = json.loads(path.read_text())
        if isinstance(report, dict) and report.get("format") == REPORT_FORMAT:
            fields |= set(report)
    assert _report_table_fields(text) == fields


def _balancer_statuses() -> set[int]:
    """Every status the balancer answers a client with: the literals its code passes to the
    functions that write an error response (or assigns as `status, message = ...`)."""
    calls = re.compile(
        r"(?:_refuse|_terminal|_respond_error|error_response)\(\s*(?:ex,\s*)?([45]\d\d)\b"
        r"|status, message = ([45]\d\d)\b"
    )
    found: set[int] = set()
    for path in (ROOT / "lbdemo" / "balancer").rglob("*.py"):
        if path.name == "admin.py":  # the admin API's own statuses are in its table
            continue
        for match in calls.finditer(path.read_text()):
            found.add(int(match[1] or match[2]))
    return found


def test_balancer_doc_lists_every_error_status() -> None:
    statuses = _balancer_statuses()
    assert {400, 502, 503, 505} <= statuses  # the scan finds them
    text = (DOCS / "balancer.md").read_text()
    errors = text.split("- **Errors**", 1)[1].split("\n- **", 1)[0]
    listed = {int(s) for s in re.findall(r"\b([45]\d\d)\b", errors)}
    assert statuses <= listed, f"not in balancer.md's error list: {sorted(statuses - listed)}"


def test_containers_doc_names_every_builtin_image(tmp_path: Path) -> None:
    result = run_cli("images", "--state", str(tmp_path), "--format", "{{.Repository}}:{{.Tag}}")
    assert result.status == 0, result
    images = result.out.split()
    assert images
    row = next(
        line
        for line in (DOCS / "containers.md").read_text().splitlines()
        if "| `lbdemo images` |" in line
    )
    for image in images:
        repository, tag = image.split(":")
        assert repository in row and (f"{image}`" in row or f"`:{tag}`" in row), image


def test_containers_doc_gives_cp_its_tar_stream_form() -> None:
    parser, _ = parser_for(("lbdemo", "cp"))
    assert "'-' reads a tar archive" in " ".join(parser.format_help().split())
    text = " ".join((DOCS / "containers.md").read_text().split())
    assert "`lbdemo cp - " in text and "tar-stream form `-`" not in text.split("Not supported")[-1]
