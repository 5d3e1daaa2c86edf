"""The durability proof on hand-written histories: every acknowledged write is final or
superseded by a write that could come after it; the rest are lost, per replica; unknown
writes are accounted for as applied or not observed."""

from __future__ import annotations

from lbdemo.checker.audit import Audit
from lbdemo.checker.durability import (
    FINAL,
    LOST,
    SUPERSEDED,
    explain,
    prove_durability,
    render_durability,
)
from lbdemo.history import Op


def W(wid: str, invoke: float, complete: float, outcome: str = "ok", key: str = "k") -> Op:
    status = {"ok": 200, "fail": 503, "unknown": None}[outcome]
    return Op("u1", "write", key, wid, 1, invoke, complete, status, outcome, "r1")


def R(wid: str | None, invoke: float, key: str = "k") -> Op:
    return Op("u2", "read", key, wid, 1, invoke, invoke + 0.1, 200 if wid else 404, "ok", "r1")


def audit(**finals: str | None) -> Audit:
    return Audit(replicas={name: {"k": value} for name, value in finals.items()})


def test_the_final_value_and_a_write_it_superseded_are_both_durable() -> None:
    ops = [W("a", 0, 1), W("b", 2, 3)]
    proof = prove_durability(ops, audit(r1="b", r2="b"))
    k = proof.keys["k"]
    assert (k.acknowledged, k.final, k.superseded, len(k.lost)) == (2, 1, 1, 0)
    assert k.durable and proof.totals()["durable_keys"] == 1


def test_a_final_value_acknowledged_before_the_write_was_sent_proves_it_lost() -> None:
    # b acknowledged at 3, yet the store ends on a (acknowledged at 1, before b was sent)
    a, b = W("a", 0, 1), W("b", 2, 3)
    proof = prove_durability([a, b], audit(r1="a", r2="a"))
    assert proof.keys["k"].lost == [b]
    assert proof.keys["k"].lost_on == {"r1": 1, "r2": 1}
    assert proof.lost_writes() == [b]


def test_concurrent_writes_may_end_in_either_order() -> None:
    a, b = W("a", 0, 2), W("b", 1, 3)
    assert prove_durability([a, b], audit(r1="a")).totals()["lost"] == 0
    assert prove_durability([a, b], audit(r1="b")).totals()["lost"] == 0


def test_a_write_of_unknown_outcome_may_supersede_and_is_accounted_for() -> None:
    a, u = W("a", 0, 1), W("u", 2, 2.5, outcome="unknown")
    proof = prove_durability([a, u], audit(r1="u"))
    k = proof.keys["k"]
    assert (k.superseded, len(k.lost), k.unknown, k.unknown_applied) == (1, 0, 1, 1)
    # never seen anywhere: not observed (maybe never applied, maybe overwritten)
    u2 = W("u2", 0.5, 0.6, outcome="unknown")
    k = prove_durability([u2, a], audit(r1="a")).keys["k"]
    assert (k.unknown, k.unknown_applied, k.unknown_not_observed) == (1, 0, 1)
    # seen by a read only: applied
    k = prove_durability([u2, R("u2", 0.7), a], audit(r1="a")).keys["k"]
    assert k.unknown_applied == 1


def test_an_absent_or_foreign_final_value_loses_the_write_on_that_replica_only() -> None:
    a = W("a", 0, 1)
    proof = prove_durability([a], audit(r1="a", r2=None, r3="not-in-history"))
    k = proof.keys["k"]
    assert k.lost_on == {"r2": 1, "r3": 1} and len(k.lost) == 1
    assert explain(a, None, {}) == LOST
    assert explain(a, "a", {}) == FINAL
    assert explain(a, "b", {"b": W("b", 0.5, 5)}) == SUPERSEDED


def test_failed_writes_are_not_accounted_and_keys_without_writes_are_listed() -> None:
    proof = prove_durability([W("f", 0, 1, outcome="fail")], audit(r1=None))
    assert proof.totals() | {} == {
        "keys": 1,
        "durable_keys": 1,
        "acknowledged": 0,
        "final": 0,
        "superseded": 0,
        "lost": 0,
        "unknown": 0,
        "unknown_applied": 0,
        "unknown_not_observed": 0,
    }


def test_the_table_puts_lost_keys_first_and_names_the_replicas() -> None:
    ops = [W("a", 0, 1, key="good"), W("b", 0, 1, key="bad")]
    finals = Audit(replicas={"r1": {"good": "a", "bad": None}, "r2": {"good": "a", "bad": "b"}})
    text = render_durability(prove_durability(ops, finals).to_dict())
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[1].startswith("| bad | 1 | 0 | 0 | 1 (r1: 1)")
    assert rows[2].startswith("| good | 1 | 1 | 0 | 0 |")
    assert "**lost: 1**" in text
    assert prove_durability(ops, finals).to_dict()["totals"]["lost"] == 1
