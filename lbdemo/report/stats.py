"""Small statistics shared by the reports and the benchmarks."""

from __future__ import annotations


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of an already sorted list; None if empty.

    None rather than 0.0 for no values: a latency of zero is a claim, an empty run is not.
    """
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil without floats drifting
    return sorted_values[min(len(sorted_values), int(rank)) - 1]
