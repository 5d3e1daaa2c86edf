"""Stale, read-your-writes, monotonic-read and garbage reads: each found when real time proves
it, and only then."""

from __future__ import annotations

from lbdemo.checker import check
from tests.checker.opbuild import H, R, W


def counts(*ops: object) -> dict[str, int]:
    return check(H(*ops)).counts  # type: ignore[arg-type]


# ---- stale reads ---------------------------------------------------------------------------


def test_read_of_a_value_overwritten_before_the_read_began_is_stale() -> None:
    result = check(
        H(
            W("u1", "p1", "u1-1", 0.0, 1.0, replica="r1"),
            W("u2", "p1", "u2-1", 2.0, 3.0, replica="r3"),
            R("u3", "p1", "u1-1", 4.0, 5.0, replica="r2"),
        )
    )
    assert result.counts["stale_read"] == 1
    (a,) = result.samples["stale_read"]
    assert a.kind == "stale_read"
    assert a.replicas[0] == "r2"
    text = a.explanation
    assert "read by u3 at t=4.000s on p1 served by r2 returned u1-1" in text
    assert "u2-1 had been acknowledged at t=3.000s via r3 before the read began" in text
    assert result.by_replica["stale_read"] == {"r2": 1}


def test_read_returning_the_latest_value_is_not_stale() -> None:
    c = counts(
        W("u1", "p1", "u1-1", 0.0, 1.0),
        W("u2", "p1", "u2-1", 2.0, 3.0),
        R("u3", "p1", "u2-1", 4.0, 5.0),
    )
    assert c["stale_read"] == 0


def test_read_overlapping_a_write_may_return_either_value() -> None:
    c = counts(
        W("u1", "p1", "u1-1", 0.0, 1.0),
        W("u2", "p1", "u2-1", 2.0, 5.0),
        R("u3", "p1", "u1-1", 3.0, 4.0),
        R("u4", "p1", "u2-1", 3.0, 4.0),
    )
    assert c["stale_read"] == 0


def test_concurrent_writes_leave_their_order_open() -> None:
    # u2-1 began before u1-1 completed, so u1-1 may have been applied last.
    c = counts(
        W("u1", "p1", "u1-1", 0.0, 2.0),
        W("u2", "p1", "u2-1", 1.0, 3.0),
        R("u3", "p1", "u1-1", 4.0, 5.0),
    )
    assert c["stale_read"] == 0


def test_not_found_after_an_acknowledged_write_is_stale() -> None:
    result = check(H(W("u1", "p1", "u1-1", 0.0, 1.0), R("u2", "p1", None, 2.0, 3.0)))
    assert result.counts["stale_read"] == 1
    assert "returned not found, but u1-1 had been acknowledged" in (
        result.samples["stale_read"][0].explanation
    )


def test_not_found_while_the_first_write_is_in_flight_is_not_stale() -> None:
    assert counts(W("u1", "p1", "u1-1", 0.0, 3.0), R("u2", "p1", None, 1.0, 2.0))["stale_read"] == 0


def test_a_stale_read_is_counted_once_with_the_newest_witness() -> None:
    result = check(
        H(
            W("u1", "p1", "a", 0.0, 1.0),
            W("u1", "p1", "b", 2.0, 3.0),
            W("u1", "p1", "c", 4.0, 5.0),
            R("u2", "p1", "a", 6.0, 7.0),
        )
    )
    assert result.counts["stale_read"] == 1
    assert "but c had been acknowledged" in result.samples["stale_read"][0].explanation


def test_stale_reads_are_all_counted_but_only_a_bounded_sample_explained() -> None:
    ops = [W("u1", "p1", "a", 0.0, 1.0), W("u1", "p1", "b", 2.0, 3.0)]
    ops += [R(f"c{i}", "p1", "a", 4.0 + i, 4.5 + i) for i in range(5)]
    result = check(H(*ops), sample_limit=2)
    assert result.counts["stale_read"] == 5
    assert len(result.samples["stale_read"]) == 2
    assert result.rates["stale_read"] == 1.0


def test_rates_are_per_observed_read() -> None:
    result = check(
        H(
            W("u1", "p1", "a", 0.0, 1.0),
            W("u1", "p1", "b", 2.0, 3.0),
            R("u2", "p1", "a", 4.0, 5.0),
            R("u3", "p1", "b", 4.0, 5.0),
            R("u4", "p1", None, 4.0, 5.0, outcome="fail"),  # observed nothing: not a read
        )
    )
    assert result.reads == 2
    assert result.rates["stale_read"] == 0.5


# ---- unknown and failed writes ------------------------------------------------------------


def test_an_unknown_write_may_explain_a_read_even_after_a_later_acknowledged_write() -> None:
    # b's fate was unknown at t=3; it may have been applied after c, so reading it is not stale.
    result = check(
        H(
            W("u1", "p1", "a", 0.0, 1.0),
            W("u2", "p1", "b", 2.0, 3.0, outcome="unknown"),
            W("u3", "p1", "c", 4.0, 5.0),
            R("u4", "p1", "b", 6.0, 7.0),
        )
    )
    assert result.counts["stale_read"] == 0
    assert result.counts["garbage_read"] == 0
    assert result.linearizable


def test_an_unknown_write_is_never_counted_as_acknowledged() -> None:
    # Reading a after an unknown b is fine: b may never have been applied.
    result = check(
        H(
            W("u1", "p1", "a", 0.0, 1.0),
            W("u2", "p1", "b", 2.0, 3.0, outcome="unknown"),
            R("u3", "p1", "a", 4.0, 5.0),
            R("u2", "p1", "a", 4.0, 5.0),
        )
    )
    assert result.acknowledged_writes == 1
    assert result.unknown_writes == 1
    assert result.counts["stale_read"] == 0
    assert result.counts["read_your_writes"] == 0
    assert result.verdict == "consistent"


def test_a_failed_write_neither_supersedes_nor_explains_a_read() -> None:
    base = [W("u1", "p1", "a", 0.0, 1.0), W("u2", "p1", "b", 2.0, 3.0, outcome="fail")]
    assert counts(*base, R("u3", "p1", "a", 4.0, 5.0))["stale_read"] == 0
    assert counts(*base, R("u3", "p1", "b", 4.0, 5.0))["garbage_read"] == 1


# ---- read your writes -----------------------------------------------------------------------


def test_client_not_finding_its_own_acknowledged_write_violates_read_your_writes() -> None:
    result = check(
        H(
            W("u1", "p1", "u1-1", 0.0, 1.0, replica="r1"),
            R("u1", "p1", None, 2.0, 3.0, replica="r2"),
        )
    )
    assert result.counts["read_your_writes"] == 1
    text = result.samples["read_your_writes"][0].explanation
    assert "read by u1 at t=2.000s on p1 served by r2 returned not found" in text
    assert "u1 had itself written u1-1" in text


def test_client_reading_a_value_older_than_its_own_write_violates_read_your_writes() -> None:
    c = counts(
        W("u2", "p1", "x", 0.0, 0.5),
        W("u1", "p1", "u1-1", 1.0, 2.0),
        R("u1", "p1", "x", 3.0, 4.0),
    )
    assert c["read_your_writes"] == 1


def test_client_reading_its_own_write_or_a_concurrent_one_is_fine() -> None:
    c = counts(
        W("u1", "p1", "u1-1", 1.0, 2.0),
        W("u2", "p1", "x", 1.5, 2.5),  # concurrent with u1-1: may have been applied after it
        R("u1", "p1", "x", 3.0, 4.0),
        R("u1", "p1", "u1-1", 5.0, 6.0),  # u1-1 may be later than x too
        R("u3", "p1", "x", 7.0, 8.0),
    )
    assert c["read_your_writes"] == 0


def test_another_clients_write_is_not_a_read_your_writes_matter() -> None:
    c = counts(W("u1", "p1", "u1-1", 0.0, 1.0), R("u2", "p1", None, 2.0, 3.0))
    assert c["read_your_writes"] == 0
    assert c["stale_read"] == 1


# ---- monotonic reads ----------------------------------------------------------------------


def test_client_seeing_an_older_value_after_a_newer_one_violates_monotonic_reads() -> None:
    # y's write had not completed when the second read began, so this is not a stale read,
    # but u1 already saw y, which certainly follows x.
    result = check(
        H(
            W("u2", "p1", "x", 0.0, 1.0),
            W("u3", "p1", "y", 2.0, 3.0),
            R("u1", "p1", "y", 2.5, 2.8, replica="r1"),
            R("u1", "p1", "x", 2.9, 3.5, replica="r2"),
        )
    )
    assert result.counts["monotonic_read"] == 1
    assert result.counts["stale_read"] == 0
    text = result.samples["monotonic_read"][0].explanation
    assert "u1 had already read y at t=2.500s from r1" in text


def test_not_found_after_a_value_violates_monotonic_reads() -> None:
    c = counts(
        W("u2", "p1", "x", 0.0, 5.0),
        R("u1", "p1", "x", 1.0, 2.0),
        R("u1", "p1", None, 3.0, 4.0),
    )
    assert c["monotonic_read"] == 1
    assert c["stale_read"] == 0


def test_reads_moving_forward_or_between_concurrent_writes_are_monotonic() -> None:
    c = counts(
        W("u2", "p1", "x", 0.0, 1.0),
        W("u3", "p1", "y", 0.5, 3.0),  # concurrent with x: their order is open
        R("u1", "p1", None, 0.1, 0.2),
        R("u1", "p1", "y", 3.5, 4.0),
        R("u1", "p1", "x", 4.5, 5.0),
    )
    assert c["monotonic_read"] == 0


def test_monotonic_reads_are_per_client_and_per_key() -> None:
    c = counts(
        W("u2", "p1", "x", 0.0, 1.0),
        W("u3", "p1", "y", 2.0, 5.0),
        W("u3", "p2", "z", 0.0, 1.0),
        R("u1", "p1", "y", 2.5, 2.8),
        R("u4", "p1", "x", 2.9, 3.5),  # another client
        R("u1", "p2", "z", 3.6, 3.8),  # another key
    )
    assert c["monotonic_read"] == 0


# ---- garbage reads ------------------------------------------------------------------------


def test_a_write_id_nobody_wrote_is_a_garbage_read() -> None:
    result = check(H(W("u1", "p1", "a", 0.0, 1.0), R("u2", "p1", "zz-9", 2.0, 3.0, price=5)))
    assert result.counts["garbage_read"] == 1
    assert "no write on p1 carries zz-9" in result.samples["garbage_read"][0].explanation
    assert not result.linearizable


def test_a_price_that_does_not_match_the_write_is_a_garbage_read() -> None:
    c = counts(W("u1", "p1", "a", 0.0, 1.0), R("u2", "p1", "a", 2.0, 3.0, price=1))
    assert c["garbage_read"] == 1


def test_a_value_written_to_another_key_is_a_garbage_read() -> None:
    c = counts(W("u1", "p2", "a", 0.0, 1.0), R("u2", "p1", "a", 2.0, 3.0))
    assert c["garbage_read"] == 1


def test_a_value_that_was_written_is_not_a_garbage_read() -> None:
    c = counts(W("u1", "p1", "a", 0.0, 1.0), R("u2", "p1", "a", 0.5, 3.0))
    assert c["garbage_read"] == 0
