"""``lbdemo sweep``: the consistency pipeline once per point of ``--vary`` (each point exactly
what ``lbdemo demo`` with that option runs), the measured rates beside the model's."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from lbdemo.commands import demo as demo_command
from lbdemo.config import add_state_argument, state_root
from lbdemo.errors import UsageError
from lbdemo.files import write_json, write_text
from lbdemo.load.run import find_locustfile
from lbdemo.process.options import OneLineParser
from lbdemo.store.embedded import postgres_bin_dir
from lbdemo.sweep.chart import render_sweep_html
from lbdemo.sweep.document import render_sweep_markdown, sweep_document
from lbdemo.sweep.params import PARAMETERS, Axis, demo_words, parse_vary, point_name, points
from lbdemo.sweep.run import SweepPoint, run_sweep

DEFAULT_DURATION_S = 10.0


def register(subparsers: Any) -> None:
    sweep = subparsers.add_parser(
        "sweep",
        help="run the consistency demo once per value of a parameter and chart the rates",
        description="Run the consistency pipeline (as lbdemo demo) once per point of --vary "
        "and each layout; write sweep.json, sweep.md and sweep.html: the stale-read rate "
        "(and read-your-writes, monotonic reads, lag, latency) against the varied parameter, "
        "beside the model of docs/model.md. Exits 1 if a point fails lbdemo demo's checks (private "
        "storage showing no anomaly excepted: one replica is a point on the curve).",
    )
    add_state_argument(sweep)
    sweep.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help=f"a parameter and its values: {', '.join(PARAMETERS)}; repeat for the product of "
        "several; one value fixes an option for every point",
    )
    sweep.add_argument(
        "--layouts",
        default="private,shared",
        metavar="L1,L2,...",
        help="the layouts run at every point (default private,shared; as lbdemo demo's)",
    )
    sweep.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION_S,
        metavar="S",
        help=f"seconds of load per layout and point (default {DEFAULT_DURATION_S:g})",
    )
    sweep.add_argument(
        "--out",
        type=Path,
        default=Path("results/sweep"),
        help="where sweep.json/.md/.html go, each point's reports in a directory of its own "
        "(default results/sweep/)",
    )
    sweep.set_defaults(func=run)


def _demo_parser() -> argparse.ArgumentParser:
    """``lbdemo demo``'s own parser: a point's options mean exactly what they mean there."""
    parser = OneLineParser(prog="lbdemo")
    demo_command.register(parser.add_subparsers(dest="command", parser_class=OneLineParser))
    return parser


def plan_points(args: argparse.Namespace, axes: list[Axis]) -> list[SweepPoint]:
    """Every point's demo plan, built and checked before anything starts."""
    if "shared-datadir" in str(args.layouts).split(","):
        raise UsageError("--layouts shared-datadir runs no load: it has no rates to sweep")
    parser = _demo_parser()
    out = args.out.resolve()
    out_points = []
    for values in points(axes):
        words = [
            "demo",
            "--layouts",
            str(args.layouts),
            "--duration",
            repr(args.duration),
            "--out",
            str(out / point_name(values)),
            *demo_words(values),
        ]
        if args.state is not None:
            words += ["--state", str(args.state)]
        demo_args = parser.parse_args(words)
        demo_args.argv = ["sweep", *args.argv[1:]] if getattr(args, "argv", None) else ["sweep"]
        plan = demo_command.plan_from(demo_args)
        out_points.append(SweepPoint(values, plan))
    return out_points


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    axes = parse_vary(args.vary)
    sweep_points = plan_points(args, axes)
    state_root(args)
    find_locustfile()
    postgres_bin_dir()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    load_before = list(os.getloadavg())
    outcome = asyncio.run(run_sweep(sweep_points, say))
    command = shlex.join(["lbdemo", *(getattr(args, "argv", None) or ["sweep"])])
    layouts = [layout.name for layout in sweep_points[0].plan.layouts]
    document = sweep_document(
        axes,
        layouts,
        args.duration,
        command,
        outcome.records,
        outcome.problems,
        outcome.took_s,
        [round(v, 2) for v in load_before],
    )
    write_json(out / "sweep.json", document)
    write_text(out / "sweep.md", render_sweep_markdown(document))
    first = axes[0].parameter
    write_text(out / "sweep.html", render_sweep_html(document, first.numeric, first.axis))
    print(render_sweep_markdown(document).split("\n\n", 3)[-1].rstrip())
    print(f"\nsweep in {out}/: sweep.html (and .md, .json)")
    for problem in outcome.problems:
        print(f"lbdemo: sweep: {problem}", file=sys.stderr)
    return 1 if outcome.problems else 0
