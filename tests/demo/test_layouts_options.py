"""``--layouts``, ``--apply-delay`` and ``--region-rtt``: refused before anything starts when
wrong; what the regions place where; and the lag a client saw, from a hand-written history."""

from __future__ import annotations

from pathlib import Path

import pytest

from lbdemo.checker import check
from lbdemo.demo.replication import history_lags_ms
from lbdemo.deploy.layout import Layout
from lbdemo.errors import UsageError
from tests.checker.opbuild import H, R, W
from tests.utils import assert_demo_refused

BAD = [
    ["--layouts", "private,cloud"],
    ["--layouts", "private,,shared"],
    ["--layouts", "shared,shared"],
    ["--layouts", "private", "--dsn", "postgresql://localhost/x"],
    ["--layouts", "replicated-sync", "--apply-delay", "100"],
    ["--layouts", "replicated-async", "--apply-delay", "-1"],
    ["--layouts", "replicated-async", "--apply-delay", "600000"],
    ["--layouts", "replicated-async", "--scenario", "upgrade"],
    ["--layouts", "shared", "--region-rtt", "-1"],
    ["--layouts", "shared", "--region-rtt", "1001"],
    ["--layouts", "shared", "--region-rtt", "20ms"],
    ["--layouts", "shared-datadir", "--region-rtt", "20"],
    ["--layouts", "shared", "--region-rtt", "20", "--dsn", "postgresql://localhost/x"],
    ["--layouts", "shared", "--region-rtt", "20", "--runtime", "docker"],
]


@pytest.mark.parametrize("args", BAD, ids=" ".join)
def test_demo_refuses_bad_layouts_before_starting_anything(tmp_path: Path, args: list[str]) -> None:
    assert_demo_refused(tmp_path, *args)


def test_layout_names_and_what_they_run() -> None:
    assert Layout.named("shared") == Layout.from_options("shared")
    assert Layout.named("private").storage == "private"
    replicated = Layout.named("replicated-async", apply_delay_ms=250)
    assert replicated.storage == "replicated-async" and replicated.store_container
    assert replicated.replicated and not replicated.synchronous
    assert replicated.describe()["apply_delay_ms"] == 250
    assert Layout.named("replicated-sync").synchronous
    datadir = Layout.named("shared-datadir")
    assert datadir.store_per_replica and datadir.replicas_share_datadir
    assert not datadir.store_container
    with pytest.raises(UsageError):
        Layout.named("replicated-sync", apply_delay_ms=10)


def test_history_lag_counts_from_the_first_newer_write_acknowledged() -> None:
    history = H(
        W("c1", "k", "w1", 0.0, 0.1),
        W("c1", "k", "w2", 0.2, 0.3),  # the first newer write, acknowledged at 0.3
        W("c1", "k", "w3", 0.4, 0.5),
        R("c2", "k", "w1", 0.8, 0.81),  # still w1 0.5 s after w2's acknowledgement
        R("c2", "k", "w3", 0.9, 0.91),  # up to date
    )
    result = check(history)
    assert result.counts["stale_read"] == 1
    lags = history_lags_ms(result, history)
    assert len(lags) == 1 and lags[0] == pytest.approx(500.0)


def test_region_rtt_places_the_store_in_region_b_and_says_so() -> None:
    """What is where, per layout, as reports and stack.json say it."""
    shared = Layout.named("shared", region_rtt_ms=80)
    assert shared.far_store and shared.describe()["region_rtt_ms"] == 80
    assert shared.regions() == {
        "a": ["Locust", "balancer", "replicas"],
        "b": ["the shared PostgreSQL (every replica's reads and writes)"],
        "across": "every store query of every replica",
    }
    assert "regions 80 ms round trip apart" in shared.summary
    sync = Layout.named("replicated-sync", region_rtt_ms=0).regions()
    assert sync is not None and "remote_apply" in sync["across"]
    assert sync["b"] == ["the primary (every replica's writes)"]
    private = Layout.named("private", region_rtt_ms=20)
    assert not private.far_store and private.describe()["regions"]["b"] == []
    assert Layout.named("shared").regions() is None
    assert "region_rtt_ms" not in Layout.named("shared").describe()
