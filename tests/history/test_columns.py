"""read_columns: the operations read_history reads, in its order, or None for it to refuse."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from lbdemo.cli import main
from lbdemo.history import HistoryWriter, Op, read_history
from lbdemo.history.columns import read_columns
from tests.checker.opbuild import R, W
from tests.checker.test_simulated import generate


def _write(path: Path, ops: list[Op], boot: str | None = None) -> Path:
    with HistoryWriter(path, wall_anchor=1000.0, mono_anchor=0.0) as writer:
        writer.write_all(ops)
    if boot is not None:  # as if recorded under another boot of the machine
        header, *lines = path.read_text().splitlines(keepends=True)
        path.write_text(json.dumps({**json.loads(header), "boot_id": boot}) + "\n" + "".join(lines))
    return path


def test_columns_hold_the_same_ops_in_the_same_order(tmp_path: Path) -> None:
    ops = generate(2000, replicas=3, seed=5)
    # Ties across files and within one: equal invocations, zero-length operations.
    ops += [W("t1", "p1", "tie-a", 3.0, 3.0), R("t1", "p1", "tie-a", 3.0, 4.0)]
    ops += [W("t2", "p2", "tie-b", 3.0, 5.0), R("t3", "p2", None, 3.0, 3.5, price=None)]
    ops.append(R("t4", "p1", "tie-a", 6.0, 7.0, price=1.0))  # type: ignore[arg-type]
    random.Random(1).shuffle(ops)
    paths = [_write(tmp_path / "a.jsonl", ops[:1000]), _write(tmp_path / "b.jsonl", ops[1000:])]
    history = read_history(paths)
    columns = read_columns(paths)
    assert columns is not None
    assert columns.ops(np.arange(len(columns))) == history.ops
    assert [type(op.price) for op in columns.ops(np.arange(len(columns)))] == [
        type(op.price) for op in history.ops
    ]
    by_key = history.by_key()
    assert {key: columns.ops(rows) for key, rows in columns.rows_by_key().items()} == by_key
    assert list(columns.rows_by_key()) == sorted(by_key)
    assert (columns.t0, columns.span) == (history.t0, history.span)


@pytest.mark.parametrize(
    "ops",
    [
        [W("u1", "p1", "a", 0.0, 1.0), W("u2", "p1", "a", 0.0, 1.0)],  # one id twice
        [W("u1", "p1", "", 0.0, 1.0)],  # an empty id
        [W("u1", "p1", "a", 2.0, 1.0)],  # completed before it began
        [W("u1", "p1", "a", 0.0, 2.0), R("u1", "p1", "a", 1.0, 3.0)],  # one client, two at once
    ],
    ids=["duplicate-id", "empty-id", "backwards", "overlap"],
)
def test_what_read_history_refuses_is_left_to_it(tmp_path: Path, ops: list[Op]) -> None:
    path = _write(tmp_path / "h.jsonl", ops)
    assert read_columns([path]) is None


def test_malformed_files_and_two_clocks_are_left_to_read_history(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.jsonl", [W("u1", "p1", "a", 0.0, 1.0)])
    bad.write_text(bad.read_text() + '{"type": "op", "client": 3}\n')
    assert read_columns([bad]) is None
    assert read_columns([tmp_path / "missing.jsonl"]) is None
    one = _write(tmp_path / "one.jsonl", [W("u1", "p1", "a", 0.0, 1.0)], boot="boot-1")
    two = _write(tmp_path / "two.jsonl", [W("u2", "p1", "b", 0.0, 1.0)], boot="boot-2")
    assert read_columns([one, two]) is None


def test_the_cli_reports_a_history_as_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--html takes the general path: both reports must be the same but for the command."""
    path = _write(tmp_path / "h.jsonl", generate(1000, replicas=3, seed=6))
    reports = []
    for extra in ([], ["--html", str(tmp_path / "h.html")]):
        out = tmp_path / f"r{len(reports)}.json"
        assert main(["check", "--history", str(path), "--json", str(out), *extra]) in (0, 1)
        report = json.loads(out.read_text())
        report.pop("run")
        reports.append(report)
    assert reports[0] == reports[1]
    assert reports[0]["anomalies"]["stale_read"]["count"] > 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(path.read_text() + "not json\n")
    capsys.readouterr()
    assert main(["check", "--history", str(bad)]) == 2
    assert f"{bad}:1002: malformed history line" in capsys.readouterr().err
