"""Simulated runs: a linearizable store is never accused; private stores are caught.

The generator of ``benchmarks/check_speed.py`` applies every operation at a random instant of its
interval, so its single-store histories are linearizable by construction, with heavy overlap.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from lbdemo.checker import check
from lbdemo.history import History, HistoryHeader


def _bench() -> ModuleType:
    path = Path(__file__).parents[2] / "benchmarks" / "check_speed.py"
    spec = importlib.util.spec_from_file_location("check_speed", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _bench().generate


def history(replicas: int, seed: int) -> History:
    ops = sorted(generate(4000, replicas=replicas, seed=seed), key=lambda o: o.invoke)
    return History(headers=[HistoryHeader(0.0, 0.0)], ops=ops)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_linearizable_store_yields_no_anomaly_and_every_key_linearizable(seed: int) -> None:
    result = check(history(replicas=1, seed=seed))
    assert result.counts == dict.fromkeys(result.counts, 0)
    assert result.linearizable
    assert result.verdict == "consistent"


def test_private_stores_behind_round_robin_produce_every_read_anomaly() -> None:
    result = check(history(replicas=3, seed=1))
    assert result.counts["stale_read"] > 100
    assert result.counts["read_your_writes"] > 0
    assert result.counts["monotonic_read"] > 0
    assert result.counts["garbage_read"] == 0
    assert not result.linearizable
    assert set(result.by_replica["stale_read"]) == {"r1", "r2", "r3"}
