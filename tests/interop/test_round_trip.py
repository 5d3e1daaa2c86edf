"""lbdemo -> Jepsen EDN -> lbdemo and lbdemo -> Porcupine JSON -> lbdemo keep the verdict and
every anomaly, on the committed histories of ``results/interop/`` (a real ``lbdemo demo``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from lbdemo.checker import check
from lbdemo.history import History, Op, read_history
from lbdemo.interop import jepsen, porcupine
from lbdemo.interop.formats import load
from tests.checker.opbuild import H
from tests.checker.test_against_bruteforce import histories

RESULTS = Path(__file__).resolve().parents[2] / "results" / "interop"
HISTORIES = sorted(RESULTS.glob("*-history.jsonl"))
FORMATS = {"jepsen": (jepsen.write_edn, "edn"), "porcupine": (porcupine.write_json, "json")}


def anomalies(history: History) -> list[tuple[str, str, str]]:
    result = check(history, None)
    return [(a.kind, a.ops[0].client, a.explanation) for a in result.anomalies()]


def test_the_committed_histories_are_there_and_one_shows_anomalies() -> None:
    assert {p.name for p in HISTORIES} == {"private-history.jsonl", "shared-history.jsonl"}
    assert anomalies(read_history(RESULTS / "private-history.jsonl"))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.name)
def test_round_trip_keeps_the_verdict_and_the_anomalies(
    path: Path, fmt: str, tmp_path: Path
) -> None:
    original = read_history(path)
    write, suffix = FORMATS[fmt]
    exported = tmp_path / f"{path.stem}.{suffix}"
    exported.write_text(write(original), encoding="utf-8")
    back = load([str(exported)], fmt)
    assert len(back.ops) == len(original.ops)
    before, after = check(original, None), check(back, None)
    assert after.verdict == before.verdict
    assert after.counts == before.counts
    assert {k: v.linearizable for k, v in after.keys.items()} == {
        k: v.linearizable for k, v in before.keys.items()
    }
    assert [v.witness for v in after.keys.values()] == [v.witness for v in before.keys.values()]
    assert anomalies(back) == anomalies(original)
    # Every operation comes back as it was, but for times rounded to the nanosecond.
    key = lambda op: (op.client, op.invoke)  # noqa: E731
    for a, b in zip(sorted(original.ops, key=key), sorted(back.ops, key=key), strict=True):
        assert (a.client, a.op, a.key, a.write_id, a.price, a.status, a.outcome, a.replica) == (
            b.client, b.op, b.key, b.write_id, b.price, b.status, b.outcome, b.replica
        )  # fmt: skip
        assert abs(a.invoke - b.invoke) < 1e-9 and abs(a.complete - b.complete) < 1e-9


def verdicts(history: History) -> tuple[object, ...]:
    result = check(history, None)
    keys = {k: (v.linearizable, v.witness) for k, v in result.keys.items()}
    return result.verdict, result.counts, keys, anomalies(history)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=histories())
def test_round_trip_keeps_every_verdict_on_random_histories_with_ties(
    ops: list[Op], tmp_path: Path
) -> None:
    # Integer times: operations touch and share instants everywhere, the case where an
    # exporter's event order decides what another checker sees as concurrent.
    original = H(*ops)
    for fmt, (write, suffix) in FORMATS.items():
        path = tmp_path / f"h.{suffix}"
        path.write_text(write(original), encoding="utf-8")
        assert verdicts(load([str(path)], fmt)) == verdicts(original), fmt
    # A checker that orders by position (Knossos) sees the same precedence: with :time taken
    # out, the file's order alone gives every key the same linearizability verdict.
    untimed = tmp_path / "untimed.edn"
    untimed.write_text(re.sub(r", :time -?\d+", "", jepsen.write_edn(original)))
    by_position = check(load([str(untimed)], "jepsen"), None)
    assert by_position.verdict == check(original, None).verdict
    assert {k: v.linearizable for k, v in by_position.keys.items()} == {
        k: v.linearizable for k, v in check(original, None).keys.items()
    }
