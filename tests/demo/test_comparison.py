"""The demo's compare.md: a title, the command that made it, links, and the real table."""

from __future__ import annotations

import json
from pathlib import Path

from lbdemo.demo.runner import write_comparison

RESULTS = Path(__file__).resolve().parents[2] / "results"


def test_compare_md_holds_the_table_for_the_two_reports(tmp_path: Path) -> None:
    private = json.loads((RESULTS / "private.json").read_text())
    shared = json.loads((RESULTS / "shared.json").read_text())
    table = write_comparison(tmp_path, private, shared)
    text = (tmp_path / "compare.md").read_text()
    assert text.startswith("# private vs shared storage")
    assert "`lbdemo demo`" in text and "[private.md](private.md)" in text
    assert text.endswith(table) and "{" not in text
    assert "| verdict " in table and "inconsistent" in table
    assert "| difference |" in table  # second run (shared) minus the first (private)
