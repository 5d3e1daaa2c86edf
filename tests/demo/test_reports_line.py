"""The last lines of `lbdemo demo`: where the reports are, each kind with the files it has."""

from __future__ import annotations

from pathlib import Path

from lbdemo.commands.demo import reports_line


def test_checked_runs_name_their_html_and_its_siblings() -> None:
    line = reports_line(Path("out"), ["private", "shared"], [])
    assert line == "reports in out/: private.html, shared.html (and .md, .json)"


def test_a_refused_run_names_its_markdown_and_only_the_json_beside_it() -> None:
    # a refusal (shared-datadir) writes LABEL.md and LABEL.json, no HTML: not ".md (and .md...)"
    line = reports_line(Path("out"), [], ["shared-datadir"])
    assert line == "reports in out/: shared-datadir.md (and .json)"


def test_both_kinds_in_one_demo() -> None:
    line = reports_line(Path("r"), ["private"], ["shared-datadir"])
    assert line == "reports in r/: private.html (and .md, .json); shared-datadir.md (and .json)"
