"""The final audit: divergent keys, and lost writes judged against what could supersede them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lbdemo.checker import Audit, check, load_audit
from lbdemo.checker.audit import restrict
from lbdemo.errors import UsageError
from tests.checker.opbuild import H, W


def audit(**replicas: dict[str, str | None]) -> Audit:
    return Audit(replicas=dict(replicas), rows={k: len(v) for k, v in replicas.items()})


def test_last_acknowledged_write_missing_from_every_replica_is_lost() -> None:
    result = check(
        H(W("u1", "p1", "a", 0.0, 1.0), W("u2", "p1", "b", 2.0, 3.0, replica="r2")),
        audit(r1={"p1": "a"}, r2={}),
    )
    assert result.counts["lost_write"] == 1
    assert result.rates["lost_write"] == 0.5
    text = result.samples["lost_write"][0].explanation
    assert "write b on p1 by u2" in text
    assert "acknowledged at t=3.000s via r2" in text
    assert "(r1: a, r2: absent)" in text


def test_last_write_found_on_one_replica_is_not_lost() -> None:
    result = check(
        H(W("u1", "p1", "a", 0.0, 1.0), W("u2", "p1", "b", 2.0, 3.0)),
        audit(r1={"p1": "a"}, r2={"p1": "b"}),
    )
    assert result.counts["lost_write"] == 0


def test_a_write_superseded_by_a_later_write_is_not_lost() -> None:
    result = check(
        H(W("u1", "p1", "a", 0.0, 1.0), W("u2", "p1", "b", 2.0, 3.0)),
        audit(r1={"p1": "b"}),
    )
    assert result.counts["lost_write"] == 0


def test_a_write_concurrent_with_another_may_have_been_overwritten() -> None:
    # Neither of two overlapping writes is certainly last, so neither is reported.
    result = check(
        H(W("u1", "p1", "a", 0.0, 2.0), W("u2", "p1", "b", 1.0, 3.0)),
        audit(r1={}),
    )
    assert result.counts["lost_write"] == 0


def test_an_unknown_write_may_supersede_and_is_never_lost() -> None:
    hist = H(W("u1", "p1", "a", 0.0, 1.0), W("u2", "p1", "b", 2.0, 3.0, outcome="unknown"))
    result = check(hist, audit(r1={"p1": "b"}))
    assert result.counts["lost_write"] == 0
    # Even if b is nowhere: b was not acknowledged, and it may have overwritten a (before the
    # store lost b), so a is not certainly lost either.
    assert check(hist, audit(r1={})).counts["lost_write"] == 0


def test_a_failed_write_does_not_supersede() -> None:
    hist = H(W("u1", "p1", "a", 0.0, 1.0), W("u2", "p1", "b", 0.5, 3.0, outcome="fail"))
    assert check(hist, audit(r1={})).counts["lost_write"] == 1


def test_without_an_audit_lost_writes_are_not_judged() -> None:
    result = check(H(W("u1", "p1", "a", 0.0, 1.0)))
    assert not result.audited
    assert result.rates["lost_write"] is None
    assert result.verdict == "consistent"


def test_keys_with_different_values_or_present_versus_absent_are_divergent() -> None:
    a = audit(
        r1={"p1": "a", "p2": "c", "p3": "d"},
        r2={"p1": "b", "p2": "c"},
        r3={"p1": "a", "p2": "c", "p3": None},
    )
    assert a.divergent_keys() == ["p1", "p3"]


def test_replicas_that_agree_have_no_divergent_keys_and_divergence_is_inconsistent() -> None:
    hist = H(W("u1", "p1", "a", 0.0, 1.0))
    same = check(hist, audit(r1={"p1": "a"}, r2={"p1": "a"}))
    assert same.divergent_keys == []
    assert same.verdict == "consistent"
    split = check(hist, audit(r1={"p1": "a"}, r2={}))
    assert split.divergent_keys == ["p1"]
    assert split.verdict == "inconsistent"


def test_an_audit_file_round_trips(tmp_path: Path) -> None:
    a = audit(r1={"p1": "a", "p2": None})
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(a.to_dict()))
    assert load_audit(path) == a


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"not an lbdemo audit \(not JSON"),
        ('{"rows": {}}', "needs a 'replicas' object"),
        ('{"replicas": {"r1": {"p1": 3}}}', "replica 'r1' must map keys"),
        ('{"replicas": {}, "rows": {"r1": "x"}}', "'rows' must map"),
    ],
)
def test_a_malformed_audit_file_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "audit.json"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_audit(path)


def test_a_missing_audit_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read audit"):
        load_audit(tmp_path / "nope.json")


def test_restrict_keeps_only_the_keys_asked_and_marks_missing_ones_absent() -> None:
    full = Audit(
        replicas={"r1": {"p1": "a", "old": "x"}, "r2": {"old": "x"}}, rows={"r1": 2, "r2": 1}
    )
    part = restrict(full, ["p1", "p2"])
    assert part.replicas == {"r1": {"p1": "a", "p2": None}, "r2": {"p1": None, "p2": None}}
    assert part.rows == {"r1": 1, "r2": 0}
    assert part.divergent_keys() == ["p1"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('{"replicas": ' + "[" * 3000 + "]" * 3000 + "}", "nested 3,001 levels"),
        ('{"replicas": {}, "rows": {"r1": NaN}}', "found NaN"),
        ('{"replicas": {}, "rows": {"r1": ' + "9" * 30 + "}}", "30 digits"),
        ("\ufeff{}", "byte-order mark"),
    ],
)
def test_hostile_audit_files_are_one_line_naming_what_was_found(
    tmp_path: Path, text: str, named: str
) -> None:
    """Issue 21, item 7: deep JSON gave a RecursionError; NaN and 30-digit counts went in."""
    path = tmp_path / "audit.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=named) as caught:
        load_audit(path)
    assert "\n" not in str(caught.value)
