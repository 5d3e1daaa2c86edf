"""Prometheus metrics of one balancer, in its own ``CollectorRegistry``.

The data path only bumps plain ints in lists (no locks, no label lookups, no tuple keys per
request); the collector turns them into metric families when ``/metrics`` is scraped.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from lbdemo.balancer.pool import Replica

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
NO_REPLICA = "none"  # the label of answers the balancer gave itself (503, 431, ...)
_CODES = 1000  # status codes are three digits


class Metrics:
    """Counters the data path updates; a per-balancer registry exposes them."""

    def __init__(self, replicas: Callable[[], Iterable[Replica]]) -> None:
        # Per replica label, a count for every possible status code: the request's update is
        # one dict lookup by a string and one list index, a third of a (label, code) tuple key.
        self._codes: dict[str | None, list[int]] = {}
        self.bucket_counts = [0] * (len(BUCKETS) + 1)
        self.duration_sum = 0.0
        self.retries = 0  # requests sent to another replica after a failed first try
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self, replicas))

    def observe(self, replica: str | None, status: int, seconds: float) -> None:
        try:
            self._codes[replica][status] += 1
        except (KeyError, IndexError):
            self._first_observation(replica, status)
        # Most answers take under a millisecond: two float compares instead of a bisect call.
        if seconds <= 0.001:
            self.bucket_counts[0 if seconds <= 0.0005 else 1] += 1
        else:
            self.bucket_counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.duration_sum += seconds

    def _first_observation(self, replica: str | None, status: int) -> None:
        if not 0 <= status < _CODES:
            raise ValueError(f"not an HTTP status code: {status}")
        self._codes.setdefault(replica, [0] * _CODES)[status] += 1

    @property
    def requests(self) -> dict[tuple[str, int], int]:
        """Requests answered, by (replica label, status code)."""
        counts: dict[tuple[str, int], int] = {}
        for replica, codes in self._codes.items():
            label = replica or NO_REPLICA
            for code, n in enumerate(codes):
                if n:
                    key = (label, code)
                    counts[key] = counts.get(key, 0) + n
        return counts

    def total(self) -> int:
        return sum(sum(codes) for codes in self._codes.values())

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Collector(Collector):
    def __init__(self, metrics: Metrics, replicas: Callable[[], Iterable[Replica]]) -> None:
        self._m = metrics
        self._replicas = replicas

    def collect(self) -> Iterator[Metric]:
        m = self._m
        requests = CounterMetricFamily(
            "lbdemo_balancer_requests",
            "Requests answered, by replica and status code",
            labels=["replica", "code"],
        )
        for (replica, code), count in sorted(m.requests.items()):
            requests.add_metric([replica, str(code)], count)
        yield requests
        yield CounterMetricFamily(
            "lbdemo_balancer_retries",
            "Requests (GET/HEAD/OPTIONS) tried again on a replica after a failed try",
            value=m.retries,
        )
        cumulative, buckets = 0, []
        for bound, count in zip((*BUCKETS, float("inf")), m.bucket_counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        yield HistogramMetricFamily(
            "lbdemo_balancer_request_duration_seconds",
            "Time from request head received to response sent",
            buckets=buckets,
            sum_value=m.duration_sum,
        )
        up = GaugeMetricFamily(
            "lbdemo_balancer_replica_up", "1 when the replica is in rotation", labels=["replica"]
        )
        in_flight = GaugeMetricFamily(
            "lbdemo_balancer_in_flight_requests",
            "Requests sent to the replica and not yet answered",
            labels=["replica"],
        )
        for member in self._replicas():
            up.add_metric([member.name], 1.0 if member.available else 0.0)
            in_flight.add_metric([member.name], float(member.in_flight))
        yield up
        yield in_flight
