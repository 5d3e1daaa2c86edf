"""The rules of a big history checked by a second process (lbdemo.history_rules) change nothing
a reader can see: the same History, or the same error, as when the reader checks them itself;
and a child that fails, lies about what it read or hangs costs time, never the answer, and is
never left running.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import lbdemo.history as history_module
import lbdemo.history_rules as rules_module
from lbdemo.errors import UsageError
from lbdemo.history import FORMAT, History, HistoryWriter, Op, read_history
from lbdemo.history_rules import BROKEN, OK, TIES, RulesChild, judge
from tests.checker.test_history_by_key import _generate, _op

HEADER = {"type": "header", "format": FORMAT, "wall_anchor": 1000.0, "mono_anchor": 0.0}


def _lines(*objs: dict[str, object]) -> bytes:
    return b"".join(json.dumps(o, separators=(",", ":")).encode() + b"\n" for o in objs)


def _write(path: Path, *objs: dict[str, object]) -> Path:
    path.write_bytes(_lines(HEADER, *objs))
    return path


class Spy:
    """Every child started and every answer given while a test reads."""

    def __init__(self) -> None:
        self.children: list[RulesChild] = []
        self.answers: list[str | None] = []


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    """The child checks every history, however small, in slices of about 20 lines."""
    monkeypatch.setattr(rules_module, "MIN_BYTES", 0)
    monkeypatch.setattr(history_module, "_CHUNK_BYTES", 4096)
    seen = Spy()
    init, answer = RulesChild.__init__, RulesChild.answer

    def spying_init(self: RulesChild) -> None:
        init(self)
        seen.children.append(self)

    def spying_answer(self: RulesChild, ops: int, reading_s: float) -> str | None:
        verdict = answer(self, ops, reading_s)
        seen.answers.append(verdict)
        return verdict

    monkeypatch.setattr(RulesChild, "__init__", spying_init)
    monkeypatch.setattr(RulesChild, "answer", spying_answer)
    return seen


def _read_by_the_reader_alone(paths: list[Path]) -> History | str:
    """What read_history gives with no child: the History, or its error's message."""
    saved = rules_module.MIN_BYTES
    rules_module.MIN_BYTES = 1 << 62
    try:
        return read_history(paths)
    except UsageError as exc:
        return str(exc)
    finally:
        rules_module.MIN_BYTES = saved


def _read(paths: list[Path]) -> History | str:
    try:
        return read_history(paths)
    except UsageError as exc:
        return str(exc)


def _same(got: History | str, expected: History | str) -> None:
    if isinstance(expected, str):
        assert got == expected
        return
    assert isinstance(got, History)
    assert got.ops == expected.ops
    assert got.by_key() == expected.by_key()


def _assert_reaped(children: list[RulesChild]) -> None:
    for child in children:
        assert child._process.returncode is not None
        with pytest.raises(ChildProcessError):
            os.waitpid(child._process.pid, os.WNOHANG)


def test_a_valid_history_is_judged_ok_by_the_child_and_read_the_same(
    tmp_path: Path, spy: Spy
) -> None:
    ops = _generate(4000, replicas=3)
    paths = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for i, path in enumerate(paths):
        with HistoryWriter(path, wall_anchor=0.0, mono_anchor=0.0) as writer:
            writer.write_all(ops[i::2])
    got = _read(paths)
    assert spy.answers == [OK]
    _same(got, _read_by_the_reader_alone(paths))
    _assert_reaped(spy.children)


def test_operations_invoked_at_one_instant_are_read_again_in_file_order(
    tmp_path: Path, spy: Spy
) -> None:
    path = _write(tmp_path / "h.jsonl", *[
        _op(f"p{k}", float(t), f"u{k}-{t}") for t in range(10) for k in reversed(range(20))
    ])  # fmt: skip
    got = _read([path])
    assert spy.answers == [TIES]
    _same(got, _read_by_the_reader_alone([path]))
    _assert_reaped(spy.children)


def _overlap(tmp_path: Path) -> Path:
    return _write(tmp_path / "h.jsonl", _op("p1", 1.0, "u7"), _op("p2", 1.2, "u7"))


def _same_id_twice(tmp_path: Path) -> Path:
    write = {"op": "write", "write_id": "w1", "price": 5, "status": 200}
    return _write(tmp_path / "h.jsonl",
                  _op("p1", 1.0, "u1", **write), _op("p2", 2.0, "u2", **write))  # fmt: skip


def _no_write_id(tmp_path: Path) -> Path:
    return _write(tmp_path / "h.jsonl", _op("p1", 1.0, "u1", op="write", price=5, status=200))


def _completed_before_invoked(tmp_path: Path) -> Path:
    return _write(tmp_path / "h.jsonl", _op("p1", 1.0, "u1", complete=0.5))


@pytest.mark.parametrize(
    "make", [_overlap, _same_id_twice, _no_write_id, _completed_before_invoked],
    ids=["overlap", "same-write-id", "no-write-id", "complete-before-invoke"],
)
def test_a_broken_rule_is_judged_broken_and_gives_the_readers_own_error(
    tmp_path: Path, spy: Spy, make: Callable[[Path], Path]
) -> None:
    path = make(tmp_path)
    got = _read([path])
    assert spy.answers == [BROKEN]
    expected = _read_by_the_reader_alone([path])
    assert isinstance(expected, str)
    _same(got, expected)
    _assert_reaped(spy.children)


@pytest.mark.parametrize(
    "child_code",
    [
        "import sys; sys.exit(3)",  # fails
        "import sys; sys.stdin.buffer.read(); print('{\"verdict\":\"ok\",\"ops\":0}')",  # miscounts
        "print('not json')",  # says nothing readable
    ],
    ids=["fails", "reports-another-count", "garbled"],
)
def test_a_child_without_a_true_answer_costs_time_not_the_answer(
    tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch, child_code: str
) -> None:
    monkeypatch.setattr(rules_module, "CHILD_ARGV", [sys.executable, "-c", child_code])
    path = _overlap(tmp_path)
    got = _read([path])
    assert spy.answers == [None]
    assert isinstance(got, str) and "overlapping operations" in got
    _assert_reaped(spy.children)


def test_a_hung_child_is_stopped_and_the_reader_checks_the_rules_itself(
    tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules_module, "CHILD_ARGV",
                        [sys.executable, "-c", "import time; time.sleep(60)"])  # fmt: skip
    monkeypatch.setattr(rules_module, "MIN_PATIENCE_S", 0.5)
    ops = _generate(2000, replicas=1)
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path, wall_anchor=0.0, mono_anchor=0.0) as writer:
        writer.write_all(ops)
    got = _read([path])
    assert spy.answers == [None]
    _same(got, _read_by_the_reader_alone([path]))
    _assert_reaped(spy.children)


def test_an_interrupted_read_stops_the_child(
    tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(chunk: bytes, groups: dict[str, list[Op]]) -> list[Op] | None:
        raise KeyboardInterrupt

    monkeypatch.setattr(history_module, "_decode_by_key", interrupted)
    path = _overlap(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        read_history(path)
    assert len(spy.children) == 1
    _assert_reaped(spy.children)


@pytest.mark.parametrize("cut", [1, 7, 50, 99, 150, 333])
def test_the_child_judges_lines_cut_anywhere_between_slices(cut: int) -> None:
    lines = _lines(*[_op(f"p{i % 3}", float(i), f"u{i % 4}") for i in range(12)])
    pieces = [lines[i:i + cut] for i in range(0, len(lines), cut)]
    assert judge(pieces) == rules_module.Answer(OK, 12)
    assert judge([lines + _lines(_op("p1", 0.2, "u0"))]).verdict == BROKEN  # u0 overlaps
