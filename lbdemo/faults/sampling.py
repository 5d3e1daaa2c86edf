"""Resident memory and open file descriptors of a process, from /proc, sampled over time."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def vm_rss_kib(pid: int) -> int | None:
    """``VmRSS`` of ``pid`` in KiB (None: no such process, or a zombie without memory)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def open_fds(pid: int) -> int | None:
    """How many file descriptors ``pid`` has open (None: no such process)."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


@dataclass
class Series:
    """The samples of one process: (seconds since the soak began, VmRSS KiB, open fds)."""

    name: str
    pid: int
    samples: list[tuple[float, int, int]] = field(default_factory=list)

    def take(self, t: float) -> bool:
        rss, fds = vm_rss_kib(self.pid), open_fds(self.pid)
        if rss is None or fds is None:
            return False
        self.samples.append((round(t, 2), rss, fds))
        return True

    def summary(self) -> dict[str, Any]:
        """Start, end, max and growth of memory and descriptors (None without samples)."""
        if not self.samples:
            return {"name": self.name, "pid": self.pid, "samples": 0}
        first, last = self.samples[0], self.samples[-1]

        def growth(a: int, b: int) -> float | None:
            return round((b - a) / a * 100, 1) if a else None

        return {
            "name": self.name,
            "pid": self.pid,
            "samples": len(self.samples),
            "from_s": first[0],
            "to_s": last[0],
            "rss_kib": {
                "start": first[1],
                "end": last[1],
                "max": max(s[1] for s in self.samples),
                "growth_pct": growth(first[1], last[1]),
            },
            "fds": {
                "start": first[2],
                "end": last[2],
                "max": max(s[2] for s in self.samples),
                "growth": last[2] - first[2],
            },
        }
