"""Small statistics shared by the reports and the benchmarks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lbdemo.checker import Audit


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of an already sorted list; None if empty.

    None rather than 0.0 for no values: a latency of zero is a claim, an empty run is not.
    """
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil without floats drifting
    return sorted_values[min(len(sorted_values), int(rank)) - 1]


def replica_rows(
    traffic: Iterable[tuple[str, int, int]], stale_reads: Mapping[str, int], audit: Audit | None
) -> list[dict[str, Any]]:
    """The report's table of replicas, by name: the reads and writes each served (``traffic``:
    name, reads, writes), its stale reads (``"-"``, no replica named, left out), and the rows the
    final audit found on it. Both report builders (per operation and per column) count the
    traffic their own way and share this."""
    per: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        if name not in per:
            per[name] = {
                "replica": name,
                "ops": 0,
                "reads": 0,
                "writes": 0,
                "stale_reads": 0,
                "rows": None,
            }
        return per[name]

    for name, reads, writes in traffic:
        row = entry(name)
        row["ops"], row["reads"], row["writes"] = reads + writes, reads, writes
    for name, count in stale_reads.items():
        if name != "-":
            entry(name)["stale_reads"] = count
    if audit is not None:
        for name in audit.replicas:
            entry(name)
        for name, rows in audit.rows.items():
            entry(name)["rows"] = rows
    return [per[name] for name in sorted(per)]
