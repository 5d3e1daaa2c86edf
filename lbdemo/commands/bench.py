"""``lbdemo bench``: measure the balancer against nginx, HAProxy and the bare replicas."""

from __future__ import annotations

import argparse
import math
import shlex
import signal
import sys
from pathlib import Path
from types import FrameType

from lbdemo.config import COMPILED_DIR, add_state_argument, state_root
from lbdemo.errors import UsageError

# nginx and HAProxy are set up for 4096 connections; each proxied client also holds one upstream.
MAX_CONNECTIONS = 1024


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark the balancer against nginx and HAProxy",
        description="Start three tiny replicas, then measure this balancer, nginx, HAProxy and "
        "the replicas directly in alternating rounds; write bench.json and bench.md.",
    )
    parser.add_argument("--duration", type=float, default=5.0, metavar="S", help="seconds/run")
    parser.add_argument("--rounds", type=int, default=3, metavar="N")
    parser.add_argument(
        "--warmup", type=float, default=1.0, metavar="S", help="unrecorded seconds per target"
    )
    parser.add_argument("--connections", type=int, default=32, metavar="N")
    parser.add_argument("--out", default="results", metavar="DIR", help="(default: results/)")
    parser.add_argument(
        "--no-wrk", action="store_true", help="use the built-in load generator even if wrk exists"
    )
    parser.add_argument(
        "--no-compiled",
        action="store_true",
        help="measure the balancer as Python only (by default it is also measured compiled, "
        "when mypyc and a C compiler are here; the build is kept in the state root)",
    )
    add_state_argument(parser)
    parser.set_defaults(func=run)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _compiled_build(args: argparse.Namespace) -> tuple[Path | None, tuple[str, ...]]:
    """Where the compiled data path is to be built (by the runner), or why it is not measured."""
    if args.no_compiled:
        return None, ()
    from lbdemo.balancer.native_build import missing_build_tool

    why = missing_build_tool()
    if why is not None:
        return None, (f"lbdemo-compiled not measured: {why}",)
    return state_root(args) / COMPILED_DIR, ()


def run(args: argparse.Namespace) -> int:
    from lbdemo.bench.runner import BenchConfig, render_markdown
    from lbdemo.bench.runner import run as run_bench

    # "nan" and "inf" parse as floats; neither is a number of seconds.
    if not (math.isfinite(args.duration) and args.duration > 0) or args.rounds < 1:
        raise UsageError("--duration and --rounds must be positive")
    if not (math.isfinite(args.warmup) and args.warmup >= 0):
        raise UsageError("--warmup must be zero or more seconds")
    if not 1 <= args.connections <= MAX_CONNECTIONS:
        raise UsageError(f"--connections must be from 1 to {MAX_CONNECTIONS}")
    compiled, notes = _compiled_build(args)
    config = BenchConfig(
        duration=args.duration,
        rounds=args.rounds,
        warmup=args.warmup,
        connections=args.connections,
        out_dir=Path(args.out),
        use_wrk=not args.no_wrk,
        command=shlex.join(
            [
                "lbdemo",
                "bench",
                "--duration",
                f"{args.duration:g}",
                "--rounds",
                str(args.rounds),
                "--warmup",
                f"{args.warmup:g}",
                "--connections",
                str(args.connections),
                "--out",
                args.out,
            ]
            + (["--no-wrk"] if args.no_wrk else [])
            + (["--no-compiled"] if args.no_compiled else [])
        ),
        compiled=compiled,
        notes=notes,
    )
    # SIGTERM like Ctrl-C: unwind through the runner's finally, which stops every child.
    signal.signal(signal.SIGTERM, _interrupt)
    report = run_bench(config, progress=lambda msg: print(f"bench: {msg}", file=sys.stderr))
    print(render_markdown(report), end="")
    return 0
