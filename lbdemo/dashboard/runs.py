"""The load shown on the dashboard: its live counts, its verdict, its stale reads over time, and
the run before it (kept under the state root, so it survives ``down``/``up``).

Every source feeds it the same way: the workload's ``progress:`` lines (``lbdemo demo
--dashboard`` in the same process, ``lbdemo load`` and ``lbdemo load --web`` through
``POST /api/load``, ``lbdemo replay`` with lines made from a report), then, when the run was
checked, the checker's verdict. One parser (:class:`LoadCounts`), one verdict rule.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lbdemo.dashboard.counts import LoadCounts

MAX_POINTS = 3600  # an hour of one-second points; older ones go first
SOURCES = ("load", "web", "demo", "replay")
NO_LOAD = "no load yet"
SO_FAR = "consistent so far"
INCONSISTENT = "INCONSISTENT"
CONSISTENT = "consistent"


def checked_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The checker's word on a run, from its report: what ``finish`` takes."""
    anomalies = report.get("anomalies", {})
    return {
        "verdict": "consistent" if report.get("verdict") == "consistent" else "inconsistent",
        "stale_reads": anomalies.get("stale_read", {}).get("count"),
        "lost_writes": report.get("lost_writes", {}).get("count"),
    }


@dataclass
class Series:
    """Stale reads per second of one run, one point per progress line."""

    label: str | None
    t_s: list[float] = field(default_factory=list)
    stale_reads_per_s: list[float] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "t_s": list(self.t_s),
            "stale_reads_per_s": list(self.stale_reads_per_s),
        }

    @classmethod
    def parse(cls, data: Any) -> Series | None:
        """A series from its JSON form, or None for anything else (a damaged file is no run)."""
        if not isinstance(data, dict):
            return None
        t, v = data.get("t_s"), data.get("stale_reads_per_s")
        label = data.get("label")
        if not isinstance(t, list) or not isinstance(v, list) or len(t) != len(v):
            return None
        if not all(isinstance(x, int | float) for x in [*t, *v]):
            return None
        return cls(label if isinstance(label, str) else None, t[-MAX_POINTS:], v[-MAX_POINTS:])


class LoadRun:
    """The run in progress or just finished, and the one before it."""

    def __init__(self, last_run_file: Path | None = None) -> None:
        self.last_run_file = last_run_file
        self.counts = LoadCounts()
        self.state = "idle"  # idle | running | finished
        self.run_id: str | None = None
        self.source: str | None = None
        self.label: str | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.final: dict[str, Any] | None = None  # the checker's word, once there is one
        self.report: dict[str, Any] | None = None
        self.current: Series | None = None
        self.previous: Series | None = self._read_last_run()
        self._last_point: tuple[float, int] | None = None
        self.next_label: str | None = None  # a run that starts by its first line is named so

    # -- what happens to a run ---------------------------------------------------------------

    def start(self, run_id: str, label: str | None, source: str) -> None:
        """A new run: the one shown so far becomes the previous one."""
        if self.state == "running":
            self.finish(self.run_id)
        if self.current is not None and self.current.t_s:
            self.previous = self.current
        self.counts = LoadCounts()
        self.state = "running"
        self.run_id, self.label, self.source = run_id, label, source
        self.started_at, self.ended_at = time.time(), None
        self.final = self.report = None
        self.current = Series(label)
        self._last_point = None

    def line(self, line: str, *, run_id: str | None = None, source: str = "demo") -> bool:
        """One line of the workload's output; a progress line outside a run starts one (the
        demo's pipeline says no more than its lines). False for a line that is no progress."""
        if run_id is not None and run_id != self.run_id:
            return False  # a late line of a run that was replaced
        probe = LoadCounts()
        if not probe.observe(line):
            return False
        if self.state != "running":
            self.start(run_id or f"auto-{time.time():.0f}", self.next_label, source)
        self.counts.observe(line)
        self._point()
        return True

    def finish(
        self,
        run_id: str | None,
        *,
        verdict: str | None = None,
        stale_reads: int | None = None,
        lost_writes: int | None = None,
        report: dict[str, Any] | None = None,
    ) -> None:
        """The run ended (``verdict``: the checker's ``consistent`` or ``inconsistent``, None if
        it was not checked); its series is remembered for the next run's contrast."""
        if run_id is not None and run_id != self.run_id:
            return
        if self.state != "running" and verdict is None:
            return
        self.state = "finished"
        self.ended_at = time.time()
        if verdict is not None:
            self.final = {
                "verdict": verdict,
                "stale_reads": stale_reads,
                "lost_writes": lost_writes,
            }
        if report is not None:
            self.report = report
        self._write_last_run()

    # -- what the snapshot says --------------------------------------------------------------

    def describe_verdict(self) -> dict[str, Any]:
        stale = self.counts.stale_reads
        lost: int | None = None
        if self.state == "idle":
            text = NO_LOAD
        elif self.final is not None:
            stale = self.final["stale_reads"] if self.final["stale_reads"] is not None else stale
            lost = self.final["lost_writes"]
            text = CONSISTENT if self.final["verdict"] == "consistent" else INCONSISTENT
        else:
            text = INCONSISTENT if stale else SO_FAR
        return {
            "state": self.state,
            "text": text,
            "stale_reads": stale,
            "lost_writes": lost,
            "source": self.source,
            "label": self.label,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "report": self.report,
        }

    def describe_counts(self) -> dict[str, Any]:
        return {
            **self.counts.describe(),
            "lost_writes": self.final["lost_writes"] if self.final is not None else None,
        }

    def describe_series(self) -> dict[str, Any]:
        return {
            "current": self.current.describe() if self.current is not None else None,
            "previous": self.previous.describe() if self.previous is not None else None,
        }

    # -- inside ------------------------------------------------------------------------------

    def _point(self) -> None:
        """Stale reads per second since the previous line (the lines carry running totals)."""
        elapsed, stale = self.counts.elapsed_s, self.counts.stale_reads
        if elapsed is None or stale is None or self.current is None:
            return
        before_t, before_stale = self._last_point or (0.0, 0)
        span = elapsed - before_t
        if span <= 0:
            return
        self._last_point = (elapsed, stale)
        self.current.t_s.append(round(elapsed, 2))
        self.current.stale_reads_per_s.append(round(max(0, stale - before_stale) / span, 1))
        if len(self.current.t_s) > MAX_POINTS:
            del self.current.t_s[0], self.current.stale_reads_per_s[0]

    def _read_last_run(self) -> Series | None:
        if self.last_run_file is None:
            return None
        try:
            return Series.parse(json.loads(self.last_run_file.read_text()))
        except (OSError, ValueError):
            return None

    def _write_last_run(self) -> None:
        if self.last_run_file is None or self.current is None or not self.current.t_s:
            return
        if self.source == "replay":
            return  # a replay is no run of this stack: the contrast stays a real one
        path = self.last_run_file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            partial.write_text(json.dumps(self.current.describe()))
            partial.replace(path)
        except OSError:
            pass  # the contrast is a nicety: a read-only state root must not stop the page
