"""Run a sweep: ``lbdemo demo``'s runner once per point, each point in its own directory; what
each run measured and what the model says, as one record per run."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lbdemo.demo.pipeline import RunOutcome
from lbdemo.demo.runner import DemoPlan, run_demo
from lbdemo.sweep.model import (
    in_flight,
    missed_in_flight,
    pbs_stale_rate,
    pbs_textbook_rate,
    private_stale_rate,
    read_gaps_ms,
    stale_thresholds_ms,
)
from lbdemo.sweep.params import point_name

Progress = Callable[[str], None]
# What a point costs besides its load, per layout, until one has been measured: starting the
# stack, the final audit, stopping, checking and writing the reports.
OVERHEAD_GUESS_S = 15.0
# Problems the demo reports that are a sweep's subject, not a failure: one private replica is
# consistent, and that is a point on the curve.
NOT_A_FAILURE = "private storage showed no inconsistency"


@dataclass(frozen=True)
class SweepPoint:
    values: dict[str, Any]  # parameter name -> value
    plan: DemoPlan

    @property
    def name(self) -> str:
        return point_name(self.values)


@dataclass
class SweepOutcome:
    records: list[dict[str, Any]] = field(default_factory=list)  # one per point
    problems: list[str] = field(default_factory=list)
    took_s: float = 0.0


def _rate(report: dict[str, Any], kind: str) -> float | None:
    section = (report.get("anomalies") or {}).get(kind) or {}
    rate = section.get("rate")
    return None if rate is None else float(rate)


def _lags(report: dict[str, Any]) -> list[float]:
    """replay_lag samples of every standby; NULL (nothing to replay) counts as no lag."""
    series = ((report.get("replication") or {}).get("replay_lag_series") or {}).get("standbys")
    return [lag or 0.0 for lags in (series or {}).values() for lag in lags]


def model_of(run: RunOutcome) -> dict[str, Any]:
    """The model's stale-read rate for one run, and which model gave it (docs/model.md)."""
    report, history = run.report, run.history
    settings, storage = report["run"]["settings"], report["run"]["layout"]["storage"]
    if storage in ("shared", "replicated-sync"):
        why = "one store" if storage == "shared" else "standbys apply before the ack"
        return {"kind": "consistent", "stale_read_rate": 0.0, "why": why}
    if storage == "replicated-async":
        lags = _lags(report)
        delay = [float(report["run"]["layout"].get("apply_delay_ms") or 0.0)]

        def pbs(samples: list[float], commit_at: float = 0.5) -> float | None:
            thresholds = stale_thresholds_ms(history, commit_at, 1.0 - commit_at)
            return pbs_stale_rate(samples, thresholds)

        return {
            "kind": "pbs",
            "stale_read_rate": pbs(lags),
            "stale_read_rate_low": pbs(lags, 0.0),  # commit early, snapshot late
            "stale_read_rate_high": pbs(lags, 1.0),  # commit late, snapshot early
            "stale_read_rate_textbook": pbs_textbook_rate(lags, read_gaps_ms(history)),
            "stale_read_rate_configured_lag": pbs(delay),
            "lag_samples": len(lags),
        }
    if storage == "private":
        c = in_flight(history)
        missed = missed_in_flight(history)

        def predict(visible_after: float) -> float | None:
            return private_stale_rate(
                int(settings["replicas"]),
                int(settings["keys"]),
                float(settings["write_ratio"]),
                c,
                strategy=str(settings["strategy"]),
                ops=len(history.ops),
                visible_after=visible_after,
            )

        return {
            "kind": f"private {settings['strategy']}",
            # with the visibility measured in this run; its bounds either side
            "stale_read_rate": predict(0.0 if missed is None else missed),
            "stale_read_rate_low": predict(0.0),
            "stale_read_rate_high": predict(1.0),
            "in_flight": round(c, 3),
            "missed_in_flight": _rounded(missed),
        }
    return {"kind": None, "stale_read_rate": None}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _ms(section: dict[str, Any] | None, *keys: str) -> dict[str, Any]:
    section = section or {}
    return {k: section.get(k) for k in keys}


def measured(run: RunOutcome, link: str) -> dict[str, Any]:
    """What one run measured, for the sweep's table and chart."""
    report = run.report
    latency = report.get("latency_ms") or {}
    replication = report.get("replication")
    out: dict[str, Any] = {
        "layout": report["run"]["layout"]["name"],
        "label": report["run"]["label"],
        "report": link,
        "verdict": report["verdict"],
        "reads": (report.get("totals") or {}).get("observed_reads"),
        "ops_per_s": report.get("ops_per_s"),
        "stale_read_rate": _rate(report, "stale_read"),
        "read_your_writes_rate": _rate(report, "read_your_writes"),
        "monotonic_read_rate": _rate(report, "monotonic_read"),
        "latency_ms": {
            "reads": _ms(latency.get("reads"), "p50", "p99"),
            "writes": _ms(latency.get("writes"), "p50", "p99"),
        },
        "lag_ms": None,
        "model": model_of(run),
    }
    if replication is not None:
        out["lag_ms"] = {
            "stale_read": _ms(replication.get("lag_from_history_ms"), "p50", "p99", "max"),
            "replay": _ms(replication.get("replay_lag_ms"), "p50", "p99", "max"),
        }
    return out


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


async def run_sweep(points: Sequence[SweepPoint], say: Progress) -> SweepOutcome:
    """Each point through the demo's runner, in turn, with a progress line per point."""
    outcome = SweepOutcome()
    began = time.monotonic()
    per_run = [len(p.plan.layouts) for p in points]
    guess = [
        n * (p.plan.load.duration_s + OVERHEAD_GUESS_S)
        for n, p in zip(per_run, points, strict=True)
    ]
    for number, point in enumerate(points, start=1):
        spent = time.monotonic() - began
        if number > 1:  # measured so far, per second of load, times what is left
            done_load = sum(g for g in guess[: number - 1])
            left = spent / done_load * sum(guess[number - 1 :])
        else:
            left = sum(guess)
        say(f"[sweep {number}/{len(points)} {point.name}] starting; about {_clock(left)} left")
        point_began = time.monotonic()
        demo = await run_demo(point.plan, _indented(say, point.name))
        # the point's wall time, every layout's whole demo (start, load, audit, stop, check)
        point_took = round(time.monotonic() - point_began, 1)
        runs = [measured(run, f"{point.name}/{run.report['run']['label']}.md") for run in demo.runs]
        outcome.records.append(
            {"point": point.name, "values": point.values, "took_s": point_took, "runs": runs}
        )
        outcome.problems += [
            f"{point.name}: {p}" for p in demo.problems if not p.endswith(NOT_A_FAILURE)
        ]
        stale = ", ".join(
            f"{r['label']} {_percent(r['stale_read_rate'])} stale{_model_text(r)}" for r in runs
        )
        say(f"[sweep {number}/{len(points)} {point.name}] done: {stale}")
    outcome.took_s = time.monotonic() - began
    return outcome


def _indented(say: Progress, tag: str) -> Progress:
    return lambda line: say(f"  [{tag}] {line}")


def _model_text(run: dict[str, Any]) -> str:
    model = run["model"]
    rate, low, high = (
        model["stale_read_rate"],
        model.get("stale_read_rate_low"),
        model.get("stale_read_rate_high"),
    )
    if rate is None:
        return ""
    if low is None or high is None:
        return f" (model {_percent(rate)})"
    return f" (model {_percent(rate)}, between {_percent(low)} and {_percent(high)})"


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f} %"
