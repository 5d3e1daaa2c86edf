"""History files: written and read back, merged across processes, malformed lines named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lbdemo.errors import UsageError
from lbdemo.history import FORMAT, HistoryWriter, read_history
from tests.checker.opbuild import R, W

HEADER = {"type": "header", "format": FORMAT, "wall_anchor": 1000.0, "mono_anchor": 5.0}
GOOD_OP = {
    "type": "op",
    "client": "u1",
    "op": "write",
    "key": "p1",
    "write_id": "u1-1",
    "price": 7,
    "invoke": 6.0,
    "complete": 6.5,
    "status": 200,
    "outcome": "ok",
    "replica": "r1",
}


def write_lines(path: Path, *objs: object) -> Path:
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs))
    return path


def test_written_ops_read_back_equal(tmp_path: Path) -> None:
    ops = [W("u1", "p1", "u1-1", 1.0, 2.0), R("u2", "p1", None, 1.5, 1.6, replica=None)]
    with HistoryWriter(
        tmp_path / "h.jsonl", host="http://127.0.0.1:1", wall_anchor=100.0, mono_anchor=1.0
    ) as writer:
        writer.write_all(ops)
    history = read_history(tmp_path / "h.jsonl")
    assert history.ops == ops
    (header,) = history.headers
    assert header.host == "http://127.0.0.1:1"
    assert header.wall_time(3.0) == 102.0


def test_several_files_merge_sorted_by_invocation(tmp_path: Path) -> None:
    with HistoryWriter(tmp_path / "a.jsonl") as wa, HistoryWriter(tmp_path / "b.jsonl") as wb:
        wa.write(W("u1", "p1", "u1-1", 3.0, 4.0))
        wa.write(W("u1", "p1", "u1-2", 5.0, 6.0))
        wb.write(W("u2", "p1", "u2-1", 1.0, 7.0))
    history = read_history([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert [op.write_id for op in history.ops] == ["u2-1", "u1-1", "u1-2"]
    assert len(history.headers) == 2
    assert history.t0 == 1.0
    assert history.span == 6.0


def test_blank_lines_and_unknown_extra_fields_are_accepted(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "h.jsonl", HEADER, "", {**GOOD_OP, "extra": 1}, "  ")
    assert len(read_history(path).ops) == 1


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"type": "op", ', "malformed history line"),
        ([1, 2], "not a JSON object"),
        ({**GOOD_OP, "type": "nope"}, "unknown line type 'nope'"),
        ({k: v for k, v in GOOD_OP.items() if k != "invoke"}, "missing required field `invoke`"),
        ({**GOOD_OP, "op": "delete"}, "Invalid enum value 'delete' - at `\\$.op`"),
        ({**GOOD_OP, "complete": 5.0}, "is before 'invoke'"),
        ({**GOOD_OP, "outcome": "maybe"}, "Invalid enum value 'maybe' - at `\\$.outcome`"),
        ({**GOOD_OP, "write_id": None}, "a write needs a non-empty 'write_id'"),
        ({**GOOD_OP, "invoke": "6"}, "Expected `float`, got `str` - at `\\$.invoke`"),
        ({**GOOD_OP, "status": "200"}, "Expected `int \\| null`, got `str` - at `\\$.status`"),
        ({**GOOD_OP, "write_id": "u1-0"}, "write_id 'u1-0' was already used at .*h.jsonl:2"),
        (HEADER, "a second header line"),
    ],
)
def test_a_malformed_line_is_a_usage_error_naming_file_and_line(
    tmp_path: Path, bad: object, message: str
) -> None:
    first = {**GOOD_OP, "write_id": "u1-0"}
    path = write_lines(tmp_path / "h.jsonl", HEADER, first, bad)
    with pytest.raises(UsageError, match=f"h.jsonl:3: .*{message}"):
        read_history(path)


def test_a_write_id_reused_across_files_is_named_with_both_places(tmp_path: Path) -> None:
    a = write_lines(tmp_path / "a.jsonl", HEADER, GOOD_OP)
    b = write_lines(tmp_path / "b.jsonl", HEADER, GOOD_OP)
    with pytest.raises(UsageError, match=r"b.jsonl:2: .*already used at .*a.jsonl:2"):
        read_history([a, b])


def test_an_op_before_the_header_is_a_usage_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "h.jsonl", GOOD_OP)
    with pytest.raises(UsageError, match=r"h\.jsonl:1: .*before the header"):
        read_history(path)


def test_a_wrong_format_header_is_a_usage_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "h.jsonl", {**HEADER, "format": "other/9"})
    with pytest.raises(UsageError, match=r"h\.jsonl:1: .*unsupported format"):
        read_history(path)


def test_a_file_without_header_is_not_a_history(tmp_path: Path) -> None:
    (tmp_path / "h.jsonl").write_text("\n")
    with pytest.raises(UsageError, match="no header line"):
        read_history(tmp_path / "h.jsonl")


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read history"):
        read_history(tmp_path / "missing.jsonl")


def test_a_binary_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "h.jsonl").write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(UsageError, match="not UTF-8"):
        read_history(tmp_path / "h.jsonl")
