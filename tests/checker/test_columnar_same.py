"""The check and the report over columns give what they give over Op objects, to the sentence.

``check_columns`` only proves keys clean with array passes and leaves every other key to
``scan_key``: a key wrongly proved clean would lose anomalies, so the random histories of
test_against_bruteforce (small integer times: ties and zero-length operations everywhere) and
the simulated runs (private stores: every kind of read anomaly) are checked both ways.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from hypothesis import HealthCheck, given, settings

from lbdemo.checker import Audit, CheckResult, check
from lbdemo.checker.columnar import check_columns
from lbdemo.history import History, HistoryHeader, Op
from lbdemo.history.columns import columns_of
from lbdemo.report import build_report
from tests.checker.opbuild import R, W
from tests.checker.test_against_bruteforce import histories
from tests.checker.test_simulated import generate

HEADERS = [HistoryHeader(wall_anchor=1_000.0, mono_anchor=0.0)]


def outcome(result: CheckResult) -> dict[str, Any]:
    """Everything a check says: counts, verdicts, every anomaly explained, in order."""
    return {
        "counts": result.counts,
        "keys": result.keys,
        "by_replica": result.by_replica,
        "figures": (result.reads, result.acknowledged_writes, result.unknown_writes),
        "failed": result.failed_ops,
        "divergent": result.divergent_keys,
        "anomalies": [a.to_dict() for a in result.anomalies()],
        "samples": {k: [a.to_dict() for a in v] for k, v in result.samples.items()},
    }


def assert_same(ops: list[Op], audit: Audit | None = None) -> CheckResult:
    history = History(headers=HEADERS, ops=sorted(ops, key=attrgetter("invoke", "complete")))
    columns = columns_of(ops, HEADERS)
    assert columns is not None
    old, new = check(history, audit), check_columns(columns, audit)
    assert outcome(new) == outcome(old)
    # Once more, as the report asks: the explanations' second scan meets the same offenders.
    assert build_report(check_columns(columns, audit), columns, audit) == build_report(
        check(history, audit), history, audit
    )
    return old


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_random_small_histories_check_the_same(ops: list[Op]) -> None:
    assert_same(ops)


def test_simulated_runs_check_and_report_the_same() -> None:
    assert assert_same([]).verdict == "consistent"  # a header and no operation
    assert assert_same(generate(3000, replicas=1, seed=4)).verdict == "consistent"
    stale = assert_same(generate(3000, replicas=3, seed=4))
    assert stale.counts["monotonic_read"] and stale.counts["read_your_writes"]


def test_equal_prices_of_another_type_are_not_garbage_and_other_keys_writes_are() -> None:
    a = W("u1", "p1", "a", 0.0, 1.0)
    ops = [
        a,
        W("u2", "p2", "b", 0.0, 1.0),
        R("u3", "p1", "a", 2.0, 3.0, price=float(a.price or 0)),  # 1.0 == 1: the same price
        R("u3", "p1", "b", 4.0, 5.0),  # b was written on p2, not p1
        R("u4", "p1", "a", 2.0, 3.0, price=-1),
        R("u5", "p2", "nobody", 2.0, 3.0),
    ]
    result = assert_same(ops)
    assert result.counts["garbage_read"] == 3


def test_an_audit_finds_the_same_lost_writes() -> None:
    ops = [W("u1", "p1", "a", 0.0, 1.0), W("u2", "p1", "b", 2.0, 3.0, replica="r2")]
    audit = Audit(replicas={"r1": {"p1": "a"}, "r2": {}}, rows={"r1": 1, "r2": 0})
    assert assert_same(ops, audit).counts["lost_write"] == 1
