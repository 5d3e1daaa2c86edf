"""Hostile history files: one line naming what was found, never a traceback (issue 21, item 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lbdemo.errors import UsageError
from lbdemo.history import FORMAT, read_history
from tests.utils import run_cli

HEADER = {"type": "header", "format": FORMAT, "wall_anchor": 1000.0, "mono_anchor": 0.0}
OP = {
    "type": "op",
    "client": "u1",
    "op": "write",
    "key": "p1",
    "write_id": "w1",
    "price": 100,
    "invoke": 1.0,
    "complete": 2.0,
    "status": 200,
    "outcome": "ok",
    "replica": "r1",
}
DEEP = "[" * 1000 + "]" * 1000


def _file(tmp_path: Path, *lines: str | bytes) -> Path:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines))
    return path


def _op_line(**extra: str) -> str:
    text = json.dumps(OP)[:-1]
    return text + "".join(f', "{k}": {v}' for k, v in extra.items()) + "}"


def _refused(path: Path) -> str:
    """check --history on ``path``: status 2, one line on stderr, no traceback; the line."""
    result = run_cli("check", "--history", str(path))
    assert result.status == 2, result
    assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
    return result.err


@pytest.mark.parametrize("where", ["extra field of an op", "extra field of the header"])
def test_a_line_nested_1000_deep_is_one_line_naming_the_depth(tmp_path: Path, where: str) -> None:
    if "header" in where:
        path = _file(tmp_path, json.dumps(HEADER)[:-1] + f', "x": {DEEP}}}', _op_line())
    else:
        path = _file(tmp_path, json.dumps(HEADER), _op_line(extra=DEEP))
    err = _refused(path)
    line = 1 if "header" in where else 2
    assert f"h.jsonl:{line}:" in err and "nested" in err and "1,001 levels" in err, err


@pytest.mark.parametrize(
    ("value", "named"),
    [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity")],
)
def test_non_finite_numbers_are_named(tmp_path: Path, value: str, named: str) -> None:
    text = _op_line().replace('"complete": 2.0', f'"complete": {value}')
    err = _refused(_file(tmp_path, json.dumps(HEADER), text))
    assert f"found {named}" in err and "h.jsonl:2:" in err, err


def test_a_byte_order_mark_is_named(tmp_path: Path) -> None:
    err = _refused(_file(tmp_path, b"\xef\xbb\xbf" + json.dumps(HEADER).encode(), _op_line()))
    assert "byte-order mark" in err and "h.jsonl:1:" in err, err


def test_a_control_character_is_named_by_its_code(tmp_path: Path) -> None:
    text = _op_line().replace('"key": "p1"', '"key": "p\x011"')
    err = _refused(_file(tmp_path, json.dumps(HEADER), text))
    assert "U+0001" in err, err


def test_a_line_longer_than_the_limit_is_refused_without_reading_it_all(
    tmp_path: Path,
) -> None:
    from lbdemo.history.reader import MAX_LINE_BYTES

    path = tmp_path / "h.jsonl"
    with path.open("wb") as fh:
        fh.write(json.dumps(HEADER).encode() + b"\n")
        fh.write(b'{"type": "op", "x": "' + b"a" * (2 * MAX_LINE_BYTES + 10) + b'"}\n')
    with pytest.raises(UsageError, match="longer than") as caught:
        read_history(path)
    assert "h.jsonl:2:" in str(caught.value)


def test_a_header_line_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    from lbdemo.history.reader import MAX_LINE_BYTES

    path = tmp_path / "h.jsonl"
    path.write_bytes(b'{"type": "header", "x": "' + b"a" * (MAX_LINE_BYTES + 10) + b'"}\n')
    with pytest.raises(UsageError, match=r"h\.jsonl:1: .*longer than"):
        read_history(path)
