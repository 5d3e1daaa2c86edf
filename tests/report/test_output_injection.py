"""Strings from a history or a client stay text (issue 21, item 8): Markdown escapes them, and
nothing lbdemo prints passes a control character from them to the terminal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lbdemo.checker import Audit
from lbdemo.files import write_json
from tests.report.reportkit import make_report, op, scenario_run, write_history
from tests.utils import run_cli

# What a hostile client can put in a client name, a key or a write id: HTML, Markdown syntax,
# a table break, and terminal controls (set the title, ring the bell, CSI in C1, NUL).
HTML = "<img src=x onerror=alert(1)>"
MD = "[x](javascript:alert(1))*_`|"
TERM = "\x1b]0;pwned\x07\x00\x9b2J\x7f\r"
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
RAW_HTML = re.compile(r"(?<!\\)<[a-z]")


def _hostile_ops() -> list:  # type: ignore[type-arg]
    return [
        op(f"u1{HTML}", "write", f"k{MD}", f"w{TERM}1", 1.0, 1.1),
        op("u2", "read", f"k{MD}", None, 1.2, 1.3),  # stale: names the hostile key and id
        op(f"u3{TERM}", "write", f"k2{HTML}", f"w{HTML}", 1.4, 1.5),
    ]


# A code span shows what it holds as it is (CommonMark 6.1), HTML included.
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)


def _assert_clean(text: str, where: str) -> None:
    assert not CONTROLS.search(text), (where, CONTROLS.findall(text))
    outside_code = CODE_SPAN.sub("", text)
    assert not RAW_HTML.search(outside_code), (where, RAW_HTML.findall(outside_code))


def test_printable_escapes_c0_c1_del_and_cr_and_keeps_lines_and_tabs() -> None:
    from lbdemo.files import printable

    assert printable("a\x1b]0;t\x07b\x00c\x9bd\x7fe\rf") == (
        "a\\x1b]0;t\\x07b\\x00c\\x9bd\\x7fe\\x0df"
    )
    assert printable("line one\n\tline two é ✓") == "line one\n\tline two é ✓"


def test_check_history_prints_and_writes_no_control_character_and_no_raw_html(
    tmp_path: Path,
) -> None:
    history = write_history(tmp_path / "h.jsonl", _hostile_ops())
    audit = tmp_path / "audit.json"
    write_json(audit, Audit(replicas={f"r1{HTML}": {f"k{MD}": None}}, rows={}).to_dict())
    md = tmp_path / "out.md"
    result = run_cli(
        "check", "--history", str(history), "--audit", str(audit), "--markdown", str(md)
    )
    assert result.status == 0, result.err
    for where, text in (("stdout", result.out), ("stderr", result.err), ("file", md.read_text())):
        _assert_clean(text, where)
    assert "pwned" in result.out  # escaped, not dropped: the reader sees what was sent


def test_a_report_with_hostile_strings_is_printed_clean_by_check_and_compare(
    tmp_path: Path,
) -> None:
    run = scenario_run(f"lab{HTML}{TERM}", "private")
    run["layout"]["name"] = f"lay{MD}{TERM}"
    run["command"] = f"lbdemo demo `{TERM}` {HTML}"
    report = make_report(tmp_path / "a", _hostile_ops(), None, run)
    path = tmp_path / "r.json"
    write_json(path, report)
    other = tmp_path / "o.json"
    write_json(
        other,
        make_report(tmp_path / "b", _hostile_ops(), None, scenario_run("b", "private", users=5)),
    )
    out = tmp_path / "cmp.md"
    for args in (["check", str(path)], ["compare", str(path), str(other), "--out", str(out)]):
        result = run_cli(*args)
        assert result.status == 0, result.err
        _assert_clean(result.out, f"{args[0]} stdout")
        _assert_clean(result.err, f"{args[0]} stderr")
    _assert_clean(out.read_text(), "compare --out")


def test_an_error_naming_a_hostile_client_is_one_clean_line(tmp_path: Path) -> None:
    ops = [
        op(f"u{TERM}", "write", "k", "w1", 1.0, 3.0),
        op(f"u{TERM}", "read", "k", "w1", 2.0, 2.5),  # overlaps its own client's write
    ]
    history = write_history(tmp_path / "h.jsonl", ops)
    result = run_cli("check", "--history", str(history))
    assert result.status == 2 and "overlapping" in result.err, result
    assert result.err.count("\n") == 1
    _assert_clean(result.err, "stderr")


@pytest.mark.parametrize("text", [HTML, MD, TERM])
def test_markdown_text_round_trips_visibly(text: str) -> None:
    from lbdemo.report.markdown import md_text

    escaped = md_text(text)
    _assert_clean(escaped, "md_text")
    assert "\n" not in escaped


def test_the_headline_keeps_its_own_colours_and_escapes_the_reports_words(tmp_path: Path) -> None:
    from lbdemo.report import headline

    run = scenario_run(f"lab{TERM}", "private")
    report = make_report(tmp_path, _hostile_ops(), None, run)
    coloured = headline([report, report], color=True)
    assert "\x1b[" in coloured  # the verdict's colour, asked for
    assert "\x07" not in coloured and "\x1b]" not in coloured and "\\x1b]0;pwned" in coloured
