"""The table of ``results/stores/``: store × layout × read mode, from real ``lbdemo demo`` runs.

    .venv/bin/python benchmarks/stores_table.py run ROW [ROW ...] [--users 20 --duration 20]
    .venv/bin/python benchmarks/stores_table.py table

A ROW is ``STORE:LAYOUT[:READ][@DELAY_MS]``, e.g. ``redis:replicated-async@100`` or
``etcd:shared:serializable@100``. ``run`` makes each row with ``lbdemo demo --store STORE
--layouts LAYOUT [--read READ] [--apply-delay DELAY]`` into ``results/stores/runs/ROWNAME/``
(one state root per row under ``--state``), then computes the lag from the run's history while
it is there (histories are not committed): for every stale read, how long after the first newer
write had been acknowledged the read still returned the older value
(:func:`lbdemo.demo.replication.history_lags_ms`), kept beside the report in ``LABEL-lag.tsv``.
``table`` reads every report under ``runs/`` (also those another command put there, e.g. the
etcd member-kill run) and writes ``results/stores/README.md`` (the table, with the commands
that made each row) and ``compare.md``/``compare.html`` (``lbdemo compare`` across them).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from lbdemo.checker import check
from lbdemo.demo.replication import history_lags_ms
from lbdemo.history import read_history
from lbdemo.report.stats import percentile

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "stores"
ROW = re.compile(
    r"(?P<store>postgres|redis|etcd):(?P<layout>[\w-]+)(?::(?P<read>\w+))?(?:@(?P<delay>\d+))?"
)


def row_name(spec: str) -> str:
    return spec.replace(":", "-").replace("@", "-delay")


def run_rows(args: argparse.Namespace) -> int:
    failed = 0
    for spec in args.rows:
        found = ROW.fullmatch(spec)
        if found is None:
            print(
                f"stores_table: bad row {spec!r}: STORE:LAYOUT[:READ][@DELAY_MS]", file=sys.stderr
            )
            return 2
        out = args.out / "runs" / row_name(spec)
        argv = [
            "demo",
            "--store",
            found["store"],
            "--layouts",
            found["layout"],
            "--users",
            str(args.users),
            "--duration",
            str(args.duration),
            "--state",
            _shown(args.state / row_name(spec)),
            "--out",
            _shown(out),
        ]
        if found["read"]:
            argv += ["--read", found["read"]]
        if found["delay"]:
            argv += ["--apply-delay", found["delay"]]
        print(f"stores_table: lbdemo {shlex.join(argv)}", file=sys.stderr, flush=True)
        status = subprocess.run([str(Path(sys.executable).parent / "lbdemo"), *argv], cwd=ROOT)
        # the demo exits 1 when a layout did not show what it is expected to: still a row
        failed += status.returncode not in (0, 1)
        for report in sorted(out.glob("*.json")):
            write_lag(report)
    return 1 if failed else 0


def _shown(path: Path) -> str:
    """A path as the command line shows it: relative to the checkout where it is inside."""
    path = path.resolve()
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def write_lag(report_path: Path) -> None:
    """``lag.json`` beside a report: the history's stale-read lags (p50/p99/max, ms)."""
    report = _report(report_path)
    if report is None:
        return
    history = report_path.with_name(f"{report['run']['label']}-history.jsonl")
    if not history.exists():
        return
    ops = read_history([history])
    lags = sorted(history_lags_ms(check(ops), ops))
    summary = {
        "count": len(lags),
        "p50": _round(percentile(lags, 50)),
        "p99": _round(percentile(lags, 99)),
        "max": round(lags[-1], 1) if lags else None,
    }
    # TSV, not JSON: every JSON file under results/ is a format with a schema
    (report_path.parent / f"{report['run']['label']}-lag.tsv").write_text(
        "\t".join(summary)
        + "\n"
        + "\t".join("" if v is None else str(v) for v in summary.values())
        + "\n"
    )


def read_lag(path: Path) -> dict[str, float | None]:
    try:
        names, values = path.read_text().splitlines()[:2]
    except (OSError, ValueError):
        return {}
    return {
        name: float(value) if value else None
        for name, value in zip(names.split("\t"), values.split("\t"), strict=False)
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _report(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not str(data.get("format", "")).startswith("lbdemo-report"):
        return None
    return data


def _ms(value: Any) -> str:
    return "–" if value is None else f"{value:,.1f}"


def make_table(args: argparse.Namespace) -> int:
    rows, paths, commands = [], [], []
    # every report under the folder: the rows `run` made and those of other commands (the etcd
    # member-kill run of benchmarks/etcd_kill.py)
    for path in sorted(args.out.rglob("*.json")):
        report = _report(path)
        if report is None:
            continue
        run, lat = report["run"], report["latency_ms"]
        layout = run["layout"]
        lag = read_lag(path.with_name(f"{run['label']}-lag.tsv"))
        stale = report["anomalies"]["stale_read"]["count"]
        reads = report["totals"]["reads"]
        rows.append(
            "| "
            + " | ".join(
                [
                    f"[{path.parent.name}]({path.parent.relative_to(args.out).as_posix()}/"
                    f"{run['label']}.md)",
                    layout.get("store", "postgres"),
                    layout.get("storage", layout["name"]),
                    layout.get("read_mode", "primary"),
                    str(layout.get("apply_delay_ms", 0)),
                    report["verdict"],
                    f"{stale:,} / {reads:,}",
                    f"{_ms(lag.get('p50'))} / {_ms(lag.get('p99'))}",
                    f"{_ms(lat['writes']['p50'])} / {_ms(lat['writes']['p99'])}",
                    f"{_ms(lat['reads']['p50'])} / {_ms(lat['reads']['p99'])}",
                    f"{report['lost_writes']['count']:,}",
                    f"{report['divergent_keys']['count']:,}",
                    ", ".join(f"{x:g}" for x in run.get("load_average") or []),
                ]
            )
            + " |"
        )
        paths.append(path)
        # a run another script drove (the etcd member kill) says so in a MADE_BY file beside it:
        # the report's own command is only the load that script ran
        made_by = path.parent / "MADE_BY"
        if made_by.is_file():
            commands.append(
                f"- {path.parent.name}: `{made_by.read_text().strip()}` "
                f"(which ran `{run['command']}`)"
            )
        else:
            commands.append(f"- {path.parent.name}: `{run['command']}`")
    header = (
        "| run | store | layout | read mode | delay (ms) | verdict | stale reads / reads "
        "| lag from history p50 / p99 (ms) | write p50 / p99 (ms) | read p50 / p99 (ms) "
        "| lost writes | divergent keys | load average (1, 5, 15 min) |\n"
        "|---|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|"
    )
    text = f"""# Stores × layouts × read modes

Made with `.venv/bin/python benchmarks/stores_table.py run ROW...` (each row one `lbdemo demo`
run, below) and `.venv/bin/python benchmarks/stores_table.py table` (this file, and
[compare.md](compare.md) / `compare.html` across the runs). What the stores promise and why
the numbers are sound: [docs/stores.md](../../docs/stores.md).

Measured on the project's shared 2-core machine while other work ran on it: the load average
of each run is in its row; latencies are that machine's, not the engines' best.

{header}
{chr(10).join(rows)}

"Lag from history": for every stale read, how long after the first newer write had been
acknowledged the read still returned the older value (– where there was no stale read).

The commands:

{chr(10).join(commands)}
"""
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "README.md").write_text(text)
    if len(paths) >= 2:
        lbdemo = str(Path(sys.executable).parent / "lbdemo")
        subprocess.run(
            [lbdemo, "compare", *map(str, paths), "--out", str(args.out / "compare.md")],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            check=False,
        )
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    sub = parser.add_subparsers(dest="what", required=True)
    run = sub.add_parser("run")
    run.add_argument("rows", nargs="+", metavar="ROW")
    run.add_argument("--users", type=int, default=20)
    run.add_argument("--duration", type=float, default=20)
    run.add_argument("--state", type=Path, default=ROOT / ".lbdemo" / "stores-table")
    sub.add_parser("table")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return run_rows(args) if args.what == "run" else make_table(args)


if __name__ == "__main__":
    sys.exit(main())
