"""Latency and stale reads against the round trip between two simulated regions.

    .venv/bin/python benchmarks/regions.py [--rtts none,0,20,80,150] [--duration 10]
        [--out /tmp/lbdemo-regions/table.md] [--work /tmp/lbdemo-regions]

For each round-trip time it runs one plain command (``none``: without ``--region-rtt``, one
region, no proxy: the baseline)::

    lbdemo demo --layouts shared,replicated-async,replicated-sync --region-rtt RTT \\
        --duration D --state WORK/state --out WORK/rttRTT

then reads the three JSON reports it wrote and puts one row per layout and RTT in the
Markdown table it prints and writes to ``--out`` (results/regions.md quotes it), with every
command and the machine's load (``uptime``) before and after each. A failed command stops it: one
line on stderr and exit status 1 (the reports of that command are in WORK for a look).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from lbdemo.process.options import OneLineParser

LAYOUTS = ("shared", "replicated-async", "replicated-sync")  # each report is <layout>.json


class RunFailed(Exception):
    """One ``lbdemo demo`` did not finish with its reports."""


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def command(rtt: str, duration: float, work: Path) -> list[str]:
    argv = ["lbdemo", "demo", "--layouts", ",".join(LAYOUTS)]
    if rtt != "none":
        argv += ["--region-rtt", rtt]
    return [*argv, "--duration", f"{duration:g}", "--state", str(work / "state"),
            "--out", str(work / f"rtt{rtt}")]  # fmt: skip


def run_point(rtt: str, duration: float, work: Path) -> tuple[list[str], dict[str, Any]]:
    argv = command(rtt, duration, work)
    # exit status 1 is the demo's verdict (replicated-async is expected to be inconsistent);
    # anything else, or a missing report, is a failed run
    done = subprocess.run([sys.executable, "-m", "lbdemo", *argv[1:]], capture_output=True)
    if done.returncode not in (0, 1):
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise RunFailed(f"{' '.join(argv)}: exit {done.returncode}: {' '.join(tail)}")
    return argv, read_point(rtt, work)


def read_point(rtt: str, work: Path) -> dict[str, Any]:
    """The three reports one command wrote."""
    reports = {}
    for layout in LAYOUTS:
        path = work / f"rtt{rtt}" / f"{layout}.json"
        if not path.exists():
            raise RunFailed(f"no report {path}")
        reports[layout] = json.loads(path.read_text())
    return reports


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def row(rtt: str, layout: str, report: dict[str, Any]) -> str:
    lat = report["latency_ms"]
    stale = report["anomalies"]["stale_read"]
    reads = report["totals"]["observed_reads"]
    lag = (report.get("replication") or {}).get("replay_lag_ms") or {}
    cells = [
        rtt if rtt == "none" else f"{int(rtt):,}",
        layout,
        report["verdict"],
        f"{ms(lat['writes']['p50'])} / {ms(lat['writes']['p99'])}",
        f"{ms(lat['reads']['p50'])} / {ms(lat['reads']['p99'])}",
        f"{stale['count']:,} / {reads:,}",
        f"{(stale['rate'] or 0) * 100:.2f} %",
        str((report.get("linearizability") or {}).get("keys_not_linearizable", "–")),
        f"{ms(lag.get('p50'))} / {ms(lag.get('p99'))}" if lag else "–",
        f"{report['ops_per_s']:,.0f}",
        f"{(report['run'].get('load_average') or ['–'])[0]}",
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> int:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtts", default="none,0,20,80,150")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/lbdemo-regions/table.md"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/lbdemo-regions"))
    parser.add_argument(
        "--table-only", action="store_true", help="run nothing: the table of WORK's reports"
    )
    args = parser.parse_args()
    rtts = [r.strip() for r in args.rtts.split(",")]
    if any(r != "none" and not r.isdigit() for r in rtts):
        parser.error("--rtts takes none or whole milliseconds, separated by commas")
    rows, runs = [], []
    for rtt in rtts:
        before = uptime()
        if not args.table_only:
            print(f"RTT {rtt}: running ...", file=sys.stderr, flush=True)
        try:
            if args.table_only:
                argv, reports = command(rtt, args.duration, args.work), read_point(rtt, args.work)
                before = ""
            else:
                argv, reports = run_point(rtt, args.duration, args.work)
        except RunFailed as exc:
            print(f"regions: {exc}", file=sys.stderr)
            return 1
        runs.append((argv, before, uptime() if before else ""))
        rows += [row(rtt, layout, reports[layout]) for layout in LAYOUTS]
    header = [
        "| RTT (ms) | layout | verdict | write p50 / p99 (ms) | read p50 / p99 (ms) "
        "| stale reads / reads | stale-read rate | keys not linearizable "
        "| replay_lag p50 / p99 (ms) | ops/s | load (1 min) at start |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    commands = [
        f"- `{' '.join(argv)}`"
        + (f"  \n  before: `{before}`  \n  after: `{after}`" if before else "")
        for argv, before, after in runs
    ]
    text = "\n".join(["<!-- table from benchmarks/regions.py -->", *header, *rows, "",
                      "Commands (in this order), with `uptime` before and after each:", "",
                      *commands, ""])  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
