"""What the load generator says while it runs: Locust's ``progress:`` lines, as live counts.

The workload prints ``progress: elapsed=3.0s ops=1234 ops_per_s=411 failures=0 stale_reads=7``
once a second (``lbdemo/load/lines.py``); the dashboard shows the latest figures. A field the
line does not carry stays None, and the page says "no load running" rather than a made-up zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lbdemo.load.lines import elapsed_s, progress_fields

_INT_FIELDS = ("ops", "reads", "failures", "stale_reads")


@dataclass
class LoadCounts:
    """The latest progress line's figures (None: not reported yet)."""

    ops: int | None = None
    reads: int | None = None  # only if the workload reports reads on their own
    failures: int | None = None
    stale_reads: int | None = None
    elapsed_s: float | None = None

    def observe(self, line: str) -> bool:
        """Take the figures of a progress line; False (and nothing changed) for any other line
        or a garbled one."""
        fields = progress_fields(line)
        if fields is None:
            return False
        try:
            parsed = {name: int(fields[name]) for name in _INT_FIELDS if name in fields}
            elapsed = elapsed_s(fields) if "elapsed" in fields else None
        except ValueError:
            return False
        if not parsed:
            return False
        for name, value in parsed.items():
            setattr(self, name, value)
        self.elapsed_s = elapsed
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "ops": self.ops,
            "reads": self.reads,
            "failures": self.failures,
            "stale_reads": self.stale_reads,
            "elapsed_s": self.elapsed_s,
        }
