"""Decoding a history key by key (for the memory layout) changes nothing a reader can see.

``read_history`` decodes each slice of a file one key at a time and gathers each key's
operations as it goes (``History.by_key``). These tests hold it to the plain reading in file
order: the same operations in the same order, the same groups, the same check, and the files'
order for operations invoked at the same instant.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import lbdemo.history.reader as history_module
from lbdemo.checker import check
from lbdemo.history import (
    FORMAT,
    History,
    HistoryWriter,
    Op,
    group_by_key,
    read_history,
)

HEADER = {"type": "header", "format": FORMAT, "wall_anchor": 1000.0, "mono_anchor": 0.0}


def _generate(n_ops: int, replicas: int) -> list[Op]:
    path = Path(__file__).parents[2] / "benchmarks" / "check_speed.py"
    spec = importlib.util.spec_from_file_location("check_speed_for_by_key", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ops: list[Op] = module.generate(n_ops, replicas=replicas)
    return ops


def _in_file_order(paths: list[Path]) -> History:
    """The plain reading: every slice decoded as it comes, grouped afterwards."""
    return history_module._read(paths, by_key=False)


def _op(key: str, invoke: float, client: str, **extra: object) -> dict[str, object]:
    return {
        "type": "op",
        "client": client,
        "op": "read",
        "key": key,
        "write_id": None,
        "price": None,
        "invoke": invoke,
        "complete": invoke + 0.5,
        "status": 404,
        "outcome": "ok",
        "replica": "r1",
        **extra,
    }


@pytest.fixture
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slices of about 20 lines, so that a few thousand operations span many of them."""
    monkeypatch.setattr(history_module, "_CHUNK_BYTES", 4096)


@pytest.mark.parametrize("replicas", [1, 3])
def test_read_key_by_key_equals_the_plain_reading_and_checks_the_same(
    tmp_path: Path, small_slices: None, replicas: int
) -> None:
    ops = _generate(6000, replicas)
    paths = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]  # two processes' files, merged
    for i, path in enumerate(paths):
        with HistoryWriter(path, wall_anchor=0.0, mono_anchor=0.0) as writer:
            writer.write_all(ops[i::2])
    history = read_history(paths)
    plain = _in_file_order(paths)
    assert history.ops == plain.ops
    assert history._by_key is not None  # gathered while decoding, not afterwards
    assert history.by_key() == group_by_key(plain.ops)
    got, expected = check(history), check(plain)
    assert got.counts == expected.counts
    assert got.keys == expected.keys
    assert [a.to_dict() for a in got.anomalies()] == [a.to_dict() for a in expected.anomalies()]


def test_operations_invoked_at_the_same_instant_keep_the_files_order(
    tmp_path: Path, small_slices: None
) -> None:
    # Twenty keys, their lines invoked at the same instants, the later key first (written as
    # HistoryWriter writes, without spaces): decoded key by key they would come out grouped by
    # key, not in this order.
    lines = [_op(f"p{k}", float(t), f"u{k}-{t}") for t in range(10) for k in reversed(range(20))]
    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps(o, separators=(",", ":")) + "\n" for o in [HEADER, *lines]))
    history = read_history(path)
    assert [(op.invoke, op.key) for op in history.ops] == [(o["invoke"], o["key"]) for o in lines]
    assert history.ops == _in_file_order([path]).ops
    assert history.by_key() == group_by_key(history.ops)


def test_a_line_whose_first_key_field_is_not_its_ops_goes_to_its_ops_key(
    tmp_path: Path, small_slices: None
) -> None:
    # The op's own key written with a space (as another JSON writer might) and an extra nested
    # object with a "key" of its own: the line is decoded with p9's lines but belongs to p1.
    compact = json.dumps(_op("p1", 1.0, "u1"), separators=(",", ":"))
    odd = compact.replace('"key":"p1"', '"key": "p1"')[:-1] + ',"extra":{"key":"p9"}}'
    lines = [
        json.dumps(_op("p9", 0.5, "u2"), separators=(",", ":")),
        odd,
        json.dumps(_op("p1", 2.0, "u3"), separators=(",", ":")),
    ]
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps(HEADER) + "\n" + "\n".join(lines) + "\n")
    history = read_history(path)
    assert [op.client for op in history.by_key()["p1"]] == ["u1", "u3"]
    assert [op.client for op in history.by_key()["p9"]] == ["u2"]
    assert history.by_key() == group_by_key(history.ops)
