"""A recorded run played back on the dashboard (``lbdemo replay REPORT.json --dashboard``).

Everything comes from the report itself, so a replay needs nothing but that one file: its
``series`` (operations and stale reads per second, per replica requests), its ``periods`` (the
faults or the upgrade, said in the event log when the replay reaches them) and its totals.
The figures reach the page the way a live run's do: as the workload's ``progress:`` lines, one
per bucket of the series, then the checker's verdict; the last line carries the report's exact
totals, so the counters end where the report does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lbdemo.errors import UsageError
from lbdemo.load.lines import progress_line

MIN_SPEED, MAX_SPEED = 0.1, 1000.0


@dataclass(frozen=True)
class Recording:
    """What a report says happened, second by second."""

    label: str
    storage: str
    summary: str
    image: str
    t_end_s: list[float]  # the end of each bucket, seconds since the load began
    ops: list[int]  # running totals at each bucket's end
    stale_reads: list[int]
    replica_rps: dict[str, list[float]]
    replica_rows: dict[str, int | None]
    periods: list[tuple[float, float, str]]
    verdict: str
    stale_total: int
    lost_writes: int | None
    divergent_keys: int | None
    html: Path | None

    @classmethod
    def from_report(cls, report: Any, path: Path) -> Recording:
        """The recording of a report file's contents; a UsageError line for anything else."""
        try:
            return cls._parse(report, path)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise UsageError(
                f"{path} is not a run report with a series (lbdemo demo and lbdemo load write them)"
            ) from None

    @classmethod
    def _parse(cls, report: Any, path: Path) -> Recording:
        run, series = report["run"], report["series"]
        bucket, last = float(series["bucket_s"]), float(series["last_bucket_s"])
        starts = [float(t) for t in series["t_s"]]
        if not starts:
            raise ValueError("an empty series")
        widths = [bucket] * (len(starts) - 1) + [last]
        reads, writes = series["reads_per_s"], series["writes_per_s"]
        stale = series["anomalies_per_s"]["stale_read"]
        ops_total, stale_total = (
            int(report["totals"]["ops"]),
            int(report["anomalies"]["stale_read"]["count"]),
        )
        ops = _running([(r + w) * d for r, w, d in zip(reads, writes, widths, strict=True)])
        stales = _running([s * d for s, d in zip(stale, widths, strict=True)])
        # the last point carries the report's own totals (the series' rates are rounded)
        ops[-1], stales[-1] = ops_total, stale_total
        rows = {str(r["replica"]): r.get("rows") for r in report.get("replicas", [])}
        html = path.with_name(str(run["files"]["html"])) if run.get("files") else None
        return cls(
            label=str(run["label"]),
            storage=str(run["layout"]["storage"]),
            summary=str(run["layout"].get("summary", run["layout"]["storage"])),
            image=str(run["settings"].get("image", "")),
            t_end_s=[round(t + d, 3) for t, d in zip(starts, widths, strict=True)],
            ops=ops,
            stale_reads=stales,
            replica_rps={
                str(name): [float(x) for x in values]
                for name, values in series.get("replica_requests_per_s", {}).items()
            },
            replica_rows={name: int(v) if v is not None else None for name, v in rows.items()},
            periods=[
                (float(p["start_s"]), float(p["end_s"]), str(p["label"]))
                for p in run.get("periods", [])
            ],
            verdict="consistent" if report["verdict"] == "consistent" else "inconsistent",
            stale_total=stale_total,
            lost_writes=int(report["lost_writes"]["count"]),
            divergent_keys=int(report["divergent_keys"]["count"]),
            html=html if html is not None and html.is_file() else None,
        )


def _running(amounts: list[float]) -> list[int]:
    """Running totals, whole."""
    total, out = 0.0, []
    for amount in amounts:
        total += amount
        out.append(round(total))
    return out


class Replay:
    """The dashboard's source while a recording plays: one snapshot per call, at ``speed``
    times the recorded pace; ``on_line`` and ``on_end`` feed the run as a live load's feed does."""

    def __init__(
        self,
        recording: Recording,
        speed: float,
        on_line: Callable[[str], None],
        on_event: Callable[[str], None],
        on_end: Callable[[], None],
    ) -> None:
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise UsageError(f"--speed must be between {MIN_SPEED:g} and {MAX_SPEED:g}")
        self.recording = recording
        self.speed = speed
        self._on_line, self._on_event, self._on_end = on_line, on_event, on_end
        self._began: float | None = None
        self._next = 0  # the next bucket to play
        self._said: set[tuple[int, str]] = set()
        self.finished = False

    async def close(self) -> None:
        """Nothing to close: a replay holds no connection."""

    def position_s(self) -> float:
        if self._began is None:
            self._began = time.monotonic()
        return (time.monotonic() - self._began) * self.speed

    async def sample(self) -> dict[str, Any]:
        rec = self.recording
        now = self.position_s()
        while self._next < len(rec.t_end_s) and rec.t_end_s[self._next] <= now:
            i = self._next
            self._on_line(
                progress_line(
                    {
                        "elapsed": f"{rec.t_end_s[i]:.3f}s",
                        "ops": str(rec.ops[i]),
                        "stale_reads": str(rec.stale_reads[i]),
                    }
                )
            )
            self._next += 1
        self._say_periods(now)
        if self._next == len(rec.t_end_s) and not self.finished:
            self.finished = True
            self._on_end()
        return self._snapshot()

    def _say_periods(self, now: float) -> None:
        for number, (start, end, label) in enumerate(self.recording.periods):
            for at, what in ((start, "began"), (end, "ended")):
                if at <= now and (number, what) not in self._said:
                    self._said.add((number, what))
                    self._on_event(f"replay: {label} {what} ({at:.1f} s into the run)")

    def _snapshot(self) -> dict[str, Any]:
        rec = self.recording
        played = self._next - 1  # the last bucket played, -1 before the first
        cards = []
        ops_rate = 0.0
        for name, rates in sorted(rec.replica_rps.items()):
            rps = rates[played] if 0 <= played < len(rates) else 0.0
            ops_rate += rps
            cards.append(
                {
                    "name": name,
                    "dead": False,
                    "id": "",
                    "image": rec.image,
                    "version": rec.image.rsplit(":", 1)[-1],
                    "url": None,
                    "health": "replay",
                    "rotation": "in",
                    "in_flight": 0,
                    "rps": round(rps, 1),
                    "requests": None,
                    "rows": rec.replica_rows.get(name) if self.finished else None,
                }
            )
        return {
            "time": time.time(),
            "stack": {
                "storage": rec.storage,
                "summary": f"replay of {rec.label}: {rec.summary}",
                "balancer": None,
            },
            "replicas": cards,
            "rotation": [{"name": c["name"], "state": "in"} for c in cards],
            "balancer_reachable": False,
            "counts": {
                "requests": rec.ops[played] if played >= 0 else 0,
                "rps": round(ops_rate, 1),
                # known only from the final audit, so shown only once the replay reached it
                "divergent_keys": rec.divergent_keys if self.finished else None,
                "keys_compared": None,
                "keys": None,
                "replicas_listed": len(cards),
            },
            "upgrade": None,
        }
