"""The per-key zone check: linearizable histories pass, each kind of impossibility is named."""

from __future__ import annotations

from lbdemo.checker import check
from tests.checker.opbuild import H, R, W


def test_a_sequential_history_is_linearizable() -> None:
    result = check(
        H(
            R("u1", "p1", None, 0.0, 0.5),
            W("u1", "p1", "a", 1.0, 2.0),
            R("u2", "p1", "a", 3.0, 4.0),
            W("u2", "p1", "b", 5.0, 6.0),
            R("u1", "p1", "b", 7.0, 8.0),
        )
    )
    assert result.keys["p1"].linearizable
    assert result.keys["p1"].witness is None
    assert result.verdict == "consistent"


def test_reads_overlapping_writes_in_either_order_are_linearizable() -> None:
    result = check(
        H(
            W("u1", "p1", "a", 0.0, 1.0),
            W("u2", "p1", "b", 2.0, 6.0),
            R("u3", "p1", "a", 2.5, 3.0),
            R("u4", "p1", "b", 3.5, 4.0),
            R("u5", "p1", "b", 4.5, 5.0),
        )
    )
    assert result.linearizable


def test_new_old_inversion_between_concurrent_reads_is_not_linearizable() -> None:
    # b is being written [1, 10]. u3 sees b at [2, 3], then u4 sees the older a at [4, 5]. No
    # single read is stale (b had not completed), yet no order fits both reads.
    result = check(
        H(
            W("u1", "p1", "a", 0.0, 0.5),
            W("u2", "p1", "b", 1.0, 10.0),
            R("u3", "p1", "b", 2.0, 3.0),
            R("u4", "p1", "a", 4.0, 5.0),
        )
    )
    assert result.counts == dict.fromkeys(result.counts, 0)
    verdict = result.keys["p1"]
    assert not verdict.linearizable
    assert verdict.witness is not None
    assert "b [t=2.000s, t=3.000s] lies inside the forward zone of a" in verdict.witness
    assert result.verdict == "inconsistent"


def test_overlapping_forward_zones_are_not_linearizable() -> None:
    # a and b are written together; readers see a, then b, then a again.
    result = check(
        H(
            W("u1", "p1", "a", 0.0, 1.0),
            W("u2", "p1", "b", 0.0, 1.0),
            R("u3", "p1", "a", 2.0, 3.0),
            R("u4", "p1", "b", 4.0, 5.0),
            R("u5", "p1", "a", 6.0, 7.0),
        )
    )
    assert result.counts["stale_read"] == 0
    witness = result.keys["p1"].witness
    assert witness is not None and "overlap" in witness


def test_a_read_completing_before_its_write_began_is_not_linearizable() -> None:
    result = check(H(R("u1", "p1", "a", 0.0, 1.0), W("u2", "p1", "a", 2.0, 3.0)))
    witness = result.keys["p1"].witness
    assert witness is not None and "before that write was invoked" in witness


def test_not_found_after_a_completed_write_is_not_linearizable() -> None:
    result = check(H(W("u1", "p1", "a", 0.0, 1.0), R("u2", "p1", None, 2.0, 3.0)))
    assert not result.keys["p1"].linearizable


def test_an_unread_unknown_write_may_be_dropped() -> None:
    # If b had been applied, reading a at [4, 5] would be impossible; so b was not.
    result = check(
        H(
            W("u1", "p1", "a", 0.0, 1.0),
            W("u2", "p1", "b", 2.0, 3.0, outcome="unknown"),
            R("u3", "p1", "a", 4.0, 5.0),
        )
    )
    assert result.linearizable


def test_a_read_unknown_write_counts_as_applied() -> None:
    # b was read, so it happened; then a read of a after b's reader is an inversion.
    result = check(
        H(
            W("u1", "p1", "a", 0.0, 1.0),
            W("u2", "p1", "b", 2.0, 3.0, outcome="unknown"),
            R("u3", "p1", "b", 4.0, 5.0),
            R("u4", "p1", "a", 6.0, 7.0),
        )
    )
    assert not result.linearizable


def test_the_overall_verdict_names_each_key() -> None:
    result = check(
        H(
            W("u1", "p1", "a", 0.0, 1.0),
            R("u2", "p1", "a", 2.0, 3.0),
            W("u1", "p2", "c", 0.0, 1.0),
            R("u2", "p2", None, 2.0, 3.0),
        )
    )
    assert result.keys["p1"].linearizable
    assert not result.keys["p2"].linearizable
    assert not result.linearizable
