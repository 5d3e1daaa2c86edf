"""The metrics counters: what the data path observes is what /metrics reports, exactly."""

from __future__ import annotations

import pytest

from lbdemo.balancer.metrics import BUCKETS, Metrics


def _sample(metrics: Metrics, name: str, labels: dict[str, str]) -> float:
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"no sample {name} {labels}")


def test_requests_are_counted_by_replica_label_and_code_with_none_for_the_balancer() -> None:
    metrics = Metrics(list)
    for replica, status in (("r1", 200), ("r1", 200), ("r2", 503), (None, 431), ("r1", 499)):
        metrics.observe(replica, status, 0.001)
    assert metrics.requests == {("r1", 200): 2, ("r2", 503): 1, ("none", 431): 1, ("r1", 499): 1}
    assert metrics.total() == 5
    labels = {"replica": "none", "code": "431"}
    assert _sample(metrics, "lbdemo_balancer_requests_total", labels) == 1.0


def test_histogram_buckets_include_their_upper_bound_like_prometheus_le() -> None:
    metrics = Metrics(list)
    durations = [0.0, 0.0005, 0.00050001, 0.001, 0.0010001, 0.0025, 10.0, 11.0]
    for seconds in durations:
        metrics.observe("r1", 200, seconds)
    name = "lbdemo_balancer_request_duration_seconds_bucket"
    for bound in BUCKETS:
        expected = sum(1 for s in durations if s <= bound)
        assert _sample(metrics, name, {"le": repr(bound)}) == expected, bound
    assert _sample(metrics, name, {"le": "+Inf"}) == len(durations)
    assert metrics.duration_sum == pytest.approx(sum(durations))


def test_a_status_outside_three_digits_is_refused_and_counts_nothing() -> None:
    metrics = Metrics(list)
    with pytest.raises(ValueError, match="status"):
        metrics.observe("r1", 1000, 0.001)
    assert metrics.requests == {}
