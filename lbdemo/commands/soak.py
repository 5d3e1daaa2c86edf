"""``lbdemo soak``: a shared-storage stack under load for minutes, a fault every minute,
memory and descriptors of the balancer and the replicas sampled; a JSON + Markdown summary."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from lbdemo.config import add_state_argument, state_root
from lbdemo.demo.pipeline import (
    LoadSettings,
    RunSpec,
    add_think_time_argument,
    add_workers_argument,
    run_under_load,
)
from lbdemo.demo.soak import SoakScenario, render_soak
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from lbdemo.errors import UsageError
from lbdemo.files import write_json, write_text
from lbdemo.load.run import find_locustfile
from lbdemo.store.embedded import postgres_bin_dir

MAX_MINUTES = 60
# What soak.json keeps of each fault's row (the run's report has all of it).
FAULT_FIELDS = (
    "fault",
    "target",
    "start_s",
    "active_s",
    "requests",
    "failed_during",
    "failed_after",
    "retried",
    "stale_reads",
    "lost_writes",
    "recovered_after_s",
)
SOAK_FORMAT = "lbdemo-soak/1"  # docs/schemas/lbdemo-soak-1.schema.json
LABEL = "soak-run"  # the pipeline's report; soak.json / soak.md are the summary


def register(subparsers: Any) -> None:
    soak = subparsers.add_parser(
        "soak",
        help="a stack under load for minutes, a fault every minute, memory and fds sampled",
        description="Start a shared-storage stack on 127.0.0.1, load it with Locust through "
        "the balancer for --minutes, inject a fault every minute (kill, pause, store kill, "
        "latency, resets, in turn), sample VmRSS and open descriptors of the balancer and each "
        "replica, then write soak.json and soak.md (and the run's report soak-run.json/.md). "
        "Exits 1 if memory grew 10 % or more, descriptors grew, or a read was stale or a "
        "write lost.",
    )
    add_state_argument(soak)
    soak.add_argument(
        "--minutes", type=float, default=10.0, help=f"how long (default 10, at most {MAX_MINUTES})"
    )
    soak.add_argument("--users", "-u", type=int, default=10, help="Locust users (default 10)")
    soak.add_argument("--replicas", "-n", type=int, default=3, help="replicas (default 3)")
    add_workers_argument(soak)
    add_think_time_argument(soak)
    soak.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="where the summary goes (default results/)",
    )
    # For tests: a soak of seconds, faults and samples closer together.
    soak.add_argument("--seconds", type=float, default=None, help=argparse.SUPPRESS)
    soak.add_argument("--fault-every", type=float, default=60.0, help=argparse.SUPPRESS)
    soak.add_argument("--sample-every", type=float, default=5.0, help=argparse.SUPPRESS)
    soak.add_argument("--warmup", type=float, default=10.0, help=argparse.SUPPRESS)
    soak.set_defaults(func=run)


def spec_from(args: argparse.Namespace) -> tuple[RunSpec, SoakScenario]:
    """Every option checked before anything starts."""
    if not 0 < args.minutes <= MAX_MINUTES:
        raise UsageError(
            f"--minutes must be more than 0 and at most {MAX_MINUTES}, got {args.minutes:g}"
        )
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    if not 0 < seconds <= MAX_MINUTES * 60:
        raise UsageError(f"--seconds must be more than 0 and at most {MAX_MINUTES * 60}")
    for name in ("fault_every", "sample_every"):
        if not getattr(args, name) > 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive")
    if args.warmup < 0:
        raise UsageError("--warmup must not be negative")
    if args.replicas < 3:
        raise UsageError("the soak's faults need at least 3 replicas (--replicas 3)")
    stack = StackConfig(
        state_root=state_root(args),
        layout=Layout.from_options("shared"),
        replicas=args.replicas,
        balancer_listen="127.0.0.1:0",
    )
    load = LoadSettings(
        users=args.users, duration_s=seconds, workers=args.workers, think_ms=args.think_ms
    )
    spec = RunSpec(LABEL, "soak", stack, load, args.out.resolve(), tuple(sys.argv[1:]) or ("soak",))
    scenario = SoakScenario(
        fault_every_s=args.fault_every, sample_every_s=args.sample_every, warmup_s=args.warmup
    )
    return spec, scenario


def summary(report: dict[str, Any], command: str) -> dict[str, Any]:
    section = report["soak"]
    faults = section["faults"]
    return {
        "format": SOAK_FORMAT,
        "command": command,
        "started_at": report["run"]["started_at"],
        "settings": report["run"]["settings"],
        "operations": report["totals"]["ops"],
        "verdict": report["verdict"],
        "stale_reads": report["anomalies"]["stale_read"]["count"],
        "lost_writes": faults["durability"]["totals"]["lost"],
        "faults": [{k: row[k] for k in FAULT_FIELDS} for row in faults["faults"]],
        "processes": section["processes"],
        "goal_problems": section["goal_problems"],
    }


def render_summary(data: dict[str, Any], section: dict[str, Any]) -> str:
    s = data["settings"]
    lines = [
        "# Soak",
        "",
        f"Made by `{data['command']}` (started {data['started_at']}): {s['replicas']} replicas, "
        f"shared storage, {s['users']} Locust users for {s['duration_s']:g} s; "
        f"{data['operations']:,} operations, {len(data['faults'])} faults, "
        f"{data['stale_reads']:,} stale reads, {data['lost_writes']:,} lost acknowledged writes "
        f"(verdict of the whole run: {data['verdict']}). The run's report: "
        f"[{LABEL}.md]({LABEL}.md).",
        "",
        render_soak(section),
        "## Faults",
        "",
        "| # | fault | target | at (s) | active (s) | requests | failed during / after "
        "| retried | stale reads | lost writes | failures until (s after end) |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, f in enumerate(data["faults"], start=1):
        retried = "-" if f["retried"] is None else f"{f['retried']:,}"
        lines.append(
            f"| {n} | {f['fault']} | {f['target'] or '-'} | {f['start_s']:.1f} "
            f"| {f['active_s']:.2f} | {f['requests']:,} | {f['failed_during']:,} / "
            f"{f['failed_after']:,} | {retried} | {f['stale_reads']:,} | {f['lost_writes']:,} "
            f"| {f['recovered_after_s']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    spec, scenario = spec_from(args)
    find_locustfile()  # what the run needs, found before a stack starts
    postgres_bin_dir()
    outcome = asyncio.run(run_under_load(spec, scenario, say))
    command = "lbdemo " + " ".join(spec.argv)
    data = summary(outcome.report, command)
    out = spec.out_dir
    write_json(out / "soak.json", data)
    write_text(out / "soak.md", render_summary(data, outcome.report["soak"]))
    print(render_soak(outcome.report["soak"]))
    print(f"summary in {out}/soak.md and soak.json; the run's report in {out}/{LABEL}.md")
    for problem in data["goal_problems"]:
        print(f"lbdemo: soak missed its goal: {problem}", file=sys.stderr)
    return 1 if data["goal_problems"] else 0
