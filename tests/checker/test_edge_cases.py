"""Edge cases: equal timestamps, overlapping clients, non-finite times, reads of failed writes,
and every anomaly reachable one by one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lbdemo.checker import check
from lbdemo.errors import UsageError
from lbdemo.history import FORMAT, HistoryWriter, read_history
from tests.checker.opbuild import H, R, W

HEADER = {"type": "header", "format": FORMAT, "wall_anchor": 1000.0, "mono_anchor": 0.0}


def _op(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "type": "op",
        "client": "u1",
        "op": "read",
        "key": "p1",
        "write_id": None,
        "price": None,
        "invoke": 1.0,
        "complete": 2.0,
        "status": 404,
        "outcome": "ok",
        "replica": "r1",
    }
    return {**base, **over}


# ---- one rule for equal timestamps: they are concurrent, everywhere -----------------------


def test_a_read_invoked_the_instant_its_own_write_completed_is_concurrent_with_it() -> None:
    # u1's write completes at 1.0 and its read begins at 1.0: either order is possible, so
    # no rule may call the read old, and the zone check agrees.
    result = check(H(W("u1", "p1", "a", 0.0, 1.0), R("u1", "p1", None, 1.0, 2.0)))
    assert result.counts == dict.fromkeys(result.counts, 0)
    assert result.keys["p1"].linearizable


def test_the_same_read_a_moment_later_breaks_every_rule_together() -> None:
    result = check(H(W("u1", "p1", "a", 0.0, 1.0), R("u1", "p1", None, 1.001, 2.0)))
    assert result.counts["read_your_writes"] == 1
    assert result.counts["stale_read"] == 1
    assert not result.keys["p1"].linearizable


def test_monotonic_reads_treat_a_read_completed_at_the_instant_as_concurrent() -> None:
    # u1 reads b over [3, 4] while b is still being written, then reads the older a from
    # 4 on: linearizable (all of it can happen at t=4), so no monotonic-read anomaly.
    ops = [
        W("u2", "p1", "a", 0.0, 0.5),
        W("u3", "p1", "b", 2.0, 10.0),
        R("u1", "p1", "b", 3.0, 4.0),
        R("u1", "p1", "a", 4.0, 5.0),
    ]
    result = check(H(*ops))
    assert result.counts["monotonic_read"] == 0
    assert result.keys["p1"].linearizable
    later = check(H(*ops[:3], R("u1", "p1", "a", 4.5, 5.0)))
    assert later.counts["monotonic_read"] == 1
    assert not later.keys["p1"].linearizable


# ---- one operation at a time per client ----------------------------------------------------


def test_a_client_with_overlapping_operations_is_rejected_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path, wall_anchor=1.0, mono_anchor=0.0) as writer:
        writer.write(W("u7", "p1", "u7-1", 1.0, 3.0))
        writer.write(R("u7", "p2", None, 2.0, 2.5))
        writer.write(R("u8", "p2", None, 2.0, 2.5))
    with pytest.raises(
        UsageError,
        match=r"client u7 has overlapping operations: read of p2 "
        r"\[invoke=2.0, complete=2.5\] was invoked before write u7-1 of p1 "
        r"\[invoke=1.0, complete=3.0\] completed",
    ):
        read_history(path)


def test_touching_operations_of_one_client_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path, wall_anchor=1.0, mono_anchor=0.0) as writer:
        writer.write_all(
            [
                W("u7", "p1", "u7-1", 1.0, 2.0),
                R("u7", "p1", "u7-1", 2.0, 2.0),
                R("u7", "p1", "u7-1", 2.0, 3.0),
            ]
        )
    assert len(read_history(path).ops) == 3


# ---- non-finite times ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('"complete": Infinity', "JSON is malformed"),
        ('"complete": NaN', "JSON is malformed"),
        ('"invoke": -Infinity', "JSON is malformed"),
        ('"complete": 1e999', r"Number out of range - at `\$.complete`"),
    ],
)
def test_non_finite_times_are_rejected_naming_the_line(
    tmp_path: Path, line: str, message: str
) -> None:
    field = line.split(":")[0].strip('"')
    op = json.dumps(_op(**{field: 0.0}))
    op = op.replace(f'"{field}": 0.0', line)
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps(HEADER) + "\n" + json.dumps(_op(client="u0")) + "\n" + op + "\n")
    with pytest.raises(UsageError, match=f"h.jsonl:3: malformed history line: {message}"):
        read_history(path)


def test_two_objects_on_one_line_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(
        json.dumps(HEADER) + "\n" + json.dumps(_op()) + " " + json.dumps(_op(client="u2")) + "\n"
    )
    with pytest.raises(UsageError, match=r"h\.jsonl:2: malformed history line: JSON is malformed"):
        read_history(path)


# ---- a read of a failed write's id ----------------------------------------------------------


def test_reading_a_failed_writes_id_is_explained_as_the_write_failing() -> None:
    result = check(H(W("u1", "p1", "a", 0.0, 1.0, outcome="fail"), R("u2", "p1", "a", 2.0, 3.0)))
    witness = result.keys["p1"].witness
    assert witness is not None
    assert "no write produced" not in witness
    assert "a was a write that failed (status 503, invoked at t=0.000s by u1)" in witness
    (garbage,) = result.samples["garbage_read"]
    assert "a was a write that failed" in garbage.explanation
    assert [op.write_id for op in garbage.ops] == ["a", "a"]


def test_reading_an_id_no_write_carries_says_so() -> None:
    result = check(H(W("u1", "p1", "a", 0.0, 1.0), R("u2", "p1", "zz", 2.0, 3.0, price=1)))
    assert "no write on p1 carries zz" in (result.keys["p1"].witness or "")


# ---- every anomaly, one by one ----------------------------------------------------------------


def test_every_anomaly_is_reachable_in_invocation_order_beyond_the_sample_limit() -> None:
    # Three keys, each written once and then read "not found" by other clients: all stale.
    ops = []
    for k in range(3):
        ops.append(W("w", f"p{k}", f"a{k}", 10.0 * k, 10.0 * k + 1))
        ops += [
            R(f"u{k}-{i}", f"p{k}", None, 10.0 * k + 2 + i * 0.1, 10.0 * k + 2.05 + i * 0.1)
            for i in range(30)
        ]
    result = check(H(*ops), sample_limit=2)
    assert result.counts["stale_read"] == 90
    assert len(result.samples["stale_read"]) == 2
    stale = list(result.anomalies("stale_read"))
    assert len(stale) == 90
    invokes = [a.ops[0].invoke for a in stale]
    assert invokes == sorted(invokes)
    assert all(a.kind == "stale_read" and "not found" in a.explanation for a in stale)
    everything = list(result.anomalies())
    assert len(everything) == sum(result.counts.values())
    assert [a.ops[0].invoke for a in everything] == sorted(a.ops[0].invoke for a in everything)
    with pytest.raises(ValueError, match="unknown anomaly kind"):
        result.anomalies("nope")


def test_a_bad_header_after_blank_lines_is_named_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text("\n\n" + json.dumps({**HEADER, "format": "other/9"}) + "\n")
    with pytest.raises(UsageError, match=r"h\.jsonl:3: .*unsupported format 'other/9'"):
        read_history(path)
