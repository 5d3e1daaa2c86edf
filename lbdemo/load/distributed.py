"""Locust's distributed mode on one host: the command lines, and the workers' output combined.

``lbdemo demo --workers N`` runs one ``--master`` (headless; it spawns no users, it hands them
out and adds up the request statistics, and writes the CSV and HTML reports) and N ``--worker``
processes, every one on 127.0.0.1 and started and stopped by :func:`lbdemo.load.run.run_locust`.
Each worker records its own part of the history; :mod:`lbdemo.load.merge` merges them.

This module is the pure part: no process is started here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lbdemo.errors import UsageError
from lbdemo.load.lines import elapsed_s, progress_fields, progress_line, summary_data

MAX_WORKERS = 16
MASTER_HOST = "127.0.0.1"  # the master listens on loopback only: nobody else may join a run
# How long the master waits for all workers to connect before it gives up (whole seconds).
EXPECT_WORKERS_WAIT_S = 30
_SUMMED = ("ops", "ops_per_s", "failures", "stale_reads")


def check_workers(workers: int) -> None:
    """0 (one local Locust process) or 1..MAX_WORKERS; a UsageError otherwise."""
    if not 0 <= workers <= MAX_WORKERS:
        raise UsageError(
            f"--workers must be between 0 (one Locust process) and {MAX_WORKERS}, got {workers}"
        )


def master_options(port: int, workers: int) -> list[str]:
    """What turns the headless command line into the master's."""
    return [
        "--master",
        "--master-bind-host",
        MASTER_HOST,
        "--master-bind-port",
        str(port),
        "--expect-workers",
        str(workers),
        "--expect-workers-max-wait",
        str(EXPECT_WORKERS_WAIT_S),
    ]


def worker_command(locustfile: Path, history_file: Path, port: int) -> list[str]:
    """A worker's argv. The run's settings (users, keys, the history file, ...) come from the
    master with its spawn message; the worker's part of the history is named by the index the
    master gives it (``<history>.w<index>.jsonl``)."""
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        "--worker",
        "--master-host",
        MASTER_HOST,
        "--master-port",
        str(port),
        "--history-file",
        str(history_file),
    ]


@dataclass(frozen=True)
class WorkerSummary:
    """A worker's ``summary:`` line: what it recorded, by the index the master gave it."""

    worker: int
    ops_recorded: int
    stale_reads: int
    failures: int


def parse_worker_summary(line: str | None) -> WorkerSummary | None:
    """The worker's totals, or None when the line is absent, garbled or not a worker's."""
    data = summary_data(line)
    if data is None:
        return None
    try:
        return WorkerSummary(
            worker=int(data["worker"]),
            ops_recorded=int(data["ops_recorded"]),
            stale_reads=int(data["stale_reads"]),
            failures=int(data["failures"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


class ProgressCombiner:
    """Turns the workers' own progress lines into one line for the whole run.

    Each worker prints ``progress: worker=K elapsed=… ops=… ops_per_s=… failures=…
    stale_reads=…`` about itself; once every worker has spoken since the last combined line,
    one ``progress:`` line with the sums (and the longest elapsed time) goes to ``emit``, in
    the same form a single Locust process prints, so its readers need not know about workers.
    """

    def __init__(self, workers: int, emit: Callable[[str], None] | None) -> None:
        self.workers = workers
        self.emit = emit
        self._latest: dict[str, dict[str, float]] = {}
        self._fresh: set[str] = set()

    def feed(self, line: str) -> None:
        fields = progress_fields(line)
        worker = fields.get("worker") if fields is not None else None
        if fields is None or worker is None:
            return
        try:
            figures = {name: float(fields[name]) for name in _SUMMED}
            figures["elapsed"] = elapsed_s(fields)
        except (KeyError, ValueError):
            return
        self._latest[worker] = figures
        self._fresh.add(worker)
        if len(self._fresh) >= self.workers:
            self._fresh.clear()
            if self.emit is not None:
                self.emit(self.combined())

    def combined(self) -> str:
        rows = self._latest.values()
        sums = {name: sum(row[name] for row in rows) for name in _SUMMED}
        elapsed = max((row["elapsed"] for row in rows), default=0.0)
        return progress_line(
            {
                "elapsed": f"{elapsed:.1f}s",
                "ops": f"{sums['ops']:.0f}",
                "ops_per_s": f"{sums['ops_per_s']:.0f}",
                "failures": f"{sums['failures']:.0f}",
                "stale_reads": f"{sums['stale_reads']:.0f}",
                "workers": str(len(self._latest)),
            }
        )
