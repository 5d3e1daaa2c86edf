"""The model of docs/model.md: its closed forms, and its prediction against the real checker's
count on histories made under exactly the model's assumptions."""

from __future__ import annotations

import math
import random

import pytest

from lbdemo.checker.anomalies import STALE_READ, AnomalyLog
from lbdemo.checker.scan import scan
from lbdemo.history import History, HistoryHeader, Op
from lbdemo.sweep.model import (
    in_flight,
    missed_in_flight,
    pbs_stale_rate,
    pbs_textbook_rate,
    private_stale_rate,
    read_gaps_ms,
    stale_thresholds_ms,
)
from tests.checker.opbuild import H, R, W


def test_one_replica_or_no_writes_is_never_stale() -> None:
    assert private_stale_rate(1, 8, 0.3, 20) == 0.0
    assert private_stale_rate(3, 8, 0.0, 20) == 0.0


def test_strategies_without_a_model_say_so() -> None:
    assert private_stale_rate(3, 8, 0.3, 20, strategy="sticky") is None


def test_without_overlap_round_robin_is_the_geometric_sum() -> None:
    # C = 1: the read is fresh only when the newest write of its key is a multiple of n back
    n, p = 3, 0.3 / 8
    fresh = p * (1 - p) ** (n - 1) / (1 - (1 - p) ** n)
    assert private_stale_rate(n, 8, 0.3, 1) == pytest.approx(1 - fresh, rel=1e-9)


def test_more_replicas_more_stale_and_more_overlap_less() -> None:
    rates = [private_stale_rate(n, 8, 0.3, 18) for n in (2, 3, 5, 8)]
    assert rates == sorted(rates) and len(set(rates)) == 4
    assert private_stale_rate(3, 8, 0.3, 40) < private_stale_rate(3, 8, 0.3, 10)  # type: ignore[operator]
    # C between two whole numbers lies between their rates
    low, mid, high = (private_stale_rate(3, 8, 0.3, c) for c in (10, 10.5, 11))
    assert min(low, high) <= mid <= max(low, high)  # type: ignore[type-var]


def test_a_short_run_counts_its_first_reads_as_fresh() -> None:
    long, short = private_stale_rate(3, 1000, 0.3, 5), private_stale_rate(3, 1000, 0.3, 5, ops=2000)
    assert short < long  # type: ignore[operator]


def _model_history(
    n: int,
    c: int,
    keys: int,
    ratio: float,
    ops: int,
    strategy: str,
    at_ack: bool = False,
    spread: bool = False,
) -> History:
    """Operations exactly as the model assumes: position i is invoked at i and completes at
    i + c - 0.5 (so i precedes j iff j - i >= c), goes to replica i mod n (or a random one), and
    a read returns the newest write its replica received before it (``at_ack``: the newest
    that was acknowledged before it). ``spread``: spans drawn from an exponential distribution
    of the same mean instead (each operation its own client, so that they may overlap)."""
    rng = random.Random(24)
    held: dict[tuple[int, int], str] = {}
    pending: list[tuple[int, int, int]] = []  # at_ack: (position, replica, key) not yet applied
    out = []
    for i in range(ops):
        while pending and pending[0][0] <= i - c:
            m, r, k = pending.pop(0)
            held[(r, k)] = f"w{m}"
        replica = i % n if strategy == "round-robin" else rng.randrange(n)
        key = rng.randrange(keys)
        client = f"u{i % c}"  # one operation at a time per client: c clients in turn
        span = c - 0.5
        if spread:
            client, span = f"u{i}", max(0.6, rng.expovariate(1 / span))
        name = f"r{replica}"
        if rng.random() < ratio:
            if at_ack:
                pending.append((i, replica, key))
            else:
                held[(replica, key)] = f"w{i}"
            out.append(W(client, f"k{key}", f"w{i}", i, i + span, replica=name))
        else:
            value = held.get((replica, key))
            out.append(R(client, f"k{key}", value, i, i + span, replica=name))
    return H(*out)


@pytest.mark.parametrize(
    ("n", "c", "keys", "ratio", "strategy", "at_ack"),
    [
        (3, 6, 4, 0.3, "round-robin", False),
        (2, 9, 8, 0.5, "round-robin", True),
        (3, 6, 4, 0.3, "random", False),
    ],
)
def test_the_model_predicts_what_the_checker_counts(
    n: int, c: int, keys: int, ratio: float, strategy: str, at_ack: bool
) -> None:
    ops = 10_000
    history = _model_history(n, c, keys, ratio, ops, strategy, at_ack)
    log = AnomalyLog()
    tally = scan(history.by_key(), log, history.t0)
    measured = len(log.found[STALE_READ]) / tally.reads
    model = private_stale_rate(
        n, keys, ratio, c, strategy=strategy, ops=ops, visible_after=1.0 if at_ack else 0.0
    )
    assert model is not None
    sigma = math.sqrt(model * (1 - model) / tally.reads)
    assert abs(measured - model) < 4 * sigma + 0.005, (measured, model)
    assert in_flight(history) == pytest.approx(c - 0.5, rel=0.01)


def _checker_rate(history: History) -> float:
    log = AnomalyLog()
    tally = scan(history.by_key(), log, history.t0)
    return len(log.found[STALE_READ]) / tally.reads


def test_spans_that_vary_make_more_stale_reads_than_the_mean_span_at_a_high_write_ratio() -> None:
    # docs/model.md's largest gap: with nine writes in ten, the chance of being fresh saturates,
    # so long operations cannot make up for short ones (Jensen's inequality)
    constant = _checker_rate(_model_history(3, 12, 8, 0.9, 10_000, "round-robin"))
    varied = _checker_rate(_model_history(3, 12, 8, 0.9, 10_000, "round-robin", spread=True))
    assert varied - constant > 0.04, (constant, varied)


def test_pbs_is_the_share_of_lags_beyond_each_reads_threshold() -> None:
    lags = [0.0, 10.0, 20.0, 30.0]
    # a read no lag can make stale is fresh; one stale beyond 5 ms is stale with P = 3/4 ...
    assert pbs_stale_rate(lags, [math.inf, 5.0, 15.0, 100.0]) == pytest.approx((0.75 + 0.5) / 4)
    assert pbs_textbook_rate(lags, [None, 5.0, 15.0, 100.0]) == pytest.approx((0.75 + 0.5) / 4)
    assert pbs_stale_rate([], [1.0]) is None and pbs_textbook_rate([], [1.0]) is None
    assert pbs_stale_rate(lags, []) is None


def test_a_reads_threshold_is_its_snapshot_minus_the_earliest_commit_not_older() -> None:
    history = H(
        W("a", "k", "w1", 0.0, 1.0),
        W("b", "k", "w2", 2.0, 3.0),  # begins after w1 completed: w1 is older than it
        W("c", "k", "w3", 2.5, 6.0),  # overlaps w2: not older than it, whatever it returned
        R("d", "k", None, 0.2, 0.4),  # nothing acknowledged before it: never stale
        R("e", "k", "w2", 4.0, 5.0),  # newest acknowledged before it: w2
    )
    # commits and snapshots at the middles: w2 at 2.5, w3 at 4.25; the read's snapshot at 4.5
    assert stale_thresholds_ms(history) == [math.inf, pytest.approx(2000.0)]
    # the lower bound (commits at the start, the snapshot at the end): 5.0 - 2.0
    assert stale_thresholds_ms(history, 0.0, 1.0)[1] == pytest.approx(3000.0)
    # a lag of 2.5 s: the standby holds only w1 at 4.5 - 2.5 = 2.0, older than w2: stale
    assert pbs_stale_rate([2500.0], stale_thresholds_ms(history)) == pytest.approx(0.5)


def test_read_gaps_count_from_the_newest_ack_before_the_read() -> None:
    history = H(
        W("a", "k", "w1", 0.0, 1.0),
        W("b", "k", "w2", 0.5, 3.0),
        R("c", "k", None, 0.2, 0.3),  # nothing acknowledged yet
        R("d", "k", "w1", 2.0, 2.1),  # 1 s after w1
        R("e", "k", "w2", 3.0, 3.1),  # w2 completes at the instant: not before; still w1
        R("f", "k", "w2", 3.5, 3.6),  # 0.5 s after w2
        W("g", "other", "w3", 0.0, 0.1),
    )
    assert read_gaps_ms(history) == [None, 1000.0, 2000.0, 500.0]


def test_in_flight_of_nothing_is_zero() -> None:
    assert in_flight(History(headers=[HistoryHeader(wall_anchor=0.0, mono_anchor=0.0)])) == 0.0
    _ = Op  # the history's operation type, built above through opbuild


def test_missed_in_flight_counts_reads_that_saw_none_of_their_replicas_open_writes() -> None:
    history = H(
        W("a", "k", "w1", 0.0, 1.0, replica="r1"),
        R("b", "k", None, 0.5, 0.6, replica="r1"),  # w1 open on r1, not seen: missed
        R("c", "k", "w1", 0.7, 0.8, replica="r1"),  # w1 open on r1 and seen
        R("d", "k", None, 0.5, 0.6, replica="r2"),  # nothing open on r2: not counted
        R("e", "k", "w1", 2.0, 2.1, replica="r1"),  # w1 closed by then: not counted
    )
    assert missed_in_flight(history) == 0.5
    assert missed_in_flight(H(R("b", "k", None, 0.5, 0.6))) is None
