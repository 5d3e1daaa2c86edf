"""The verdict on a history does not depend on the order of its lines (issue 21, item 9).

Two operations of one client that only touch (``[3, 3]`` then ``[3, 4]``) were refused as
overlapping when the later-completing one came first in the file: sorting by invocation kept the
file's order on the tie.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lbdemo.checker import check
from lbdemo.history import HistoryWriter, Op, read_history
from tests.checker.opbuild import R, W
from tests.checker.test_against_bruteforce import histories


def _write(path: Path, ops: list[Op]) -> Path:
    with HistoryWriter(path, wall_anchor=1000.0, mono_anchor=0.0) as writer:
        writer.write_all(ops)
    return path


def _outcome(path: Path) -> tuple[object, ...]:
    history = read_history(path)
    result = check(history)
    keys = {key: k.linearizable for key, k in result.keys.items()}
    return result.verdict, dict(result.counts), keys, len(history.ops)


def test_touching_operations_of_one_client_are_accepted_in_either_line_order(
    tmp_path: Path,
) -> None:
    zero = W("u1", "p1", "a", 3.0, 3.0)  # [3, 3]
    after = R("u1", "p1", "a", 3.0, 4.0)  # [3, 4]: invoked the instant the first completed
    first = _outcome(_write(tmp_path / "a.jsonl", [zero, after]))
    second = _outcome(_write(tmp_path / "b.jsonl", [after, zero]))  # refused before the fix
    assert first == second
    assert first[0] == "consistent"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=histories(), seed=st.integers(0, 2**32 - 1))
def test_shuffled_lines_of_a_valid_history_get_the_same_verdict(ops: list[Op], seed: int) -> None:
    shuffled = list(ops)
    random.Random(seed).shuffle(shuffled)
    with tempfile.TemporaryDirectory() as tmp:
        as_made = _outcome(_write(Path(tmp) / "a.jsonl", ops))
        as_shuffled = _outcome(_write(Path(tmp) / "b.jsonl", shuffled))
    assert as_made == as_shuffled
