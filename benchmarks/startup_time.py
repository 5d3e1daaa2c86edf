"""How long ``lbdemo up`` takes from start to all-healthy, per storage layout.

    .venv/bin/python benchmarks/startup_time.py [--runs 5] [--replicas 3]

Each run starts a stack in the background on a fresh state root and times the whole
``lbdemo up -d`` command, from launching it to its return once every replica is connected to
its store and listening and the balancer is ready (it includes Python's own start-up). The
stack's own figure (``started_in_s`` in ``run/stack.json``, what ``up`` prints as "all healthy
in") is shown beside it. Then ``lbdemo down``, also when ``up`` failed half-way. Prints the
median and the range per layout; a failed run is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lbdemo.process.options import OneLineParser

UP_TIMEOUT_S = 120


class RunFailed(Exception):
    """One ``lbdemo up -d`` did not bring a stack up."""


def one_start(storage: str, replicas: int) -> tuple[float, float]:
    """(seconds ``lbdemo up -d`` took, the stack's own ``started_in_s``) for one fresh stack."""
    with tempfile.TemporaryDirectory(prefix="lbdemo-startup-") as state:
        base = [sys.executable, "-m", "lbdemo"]
        began = time.monotonic()
        try:
            up = subprocess.run(
                [*base, "up", "-d", "--state", state, "--port", "0", "--storage", storage,
                 "--replicas", str(replicas)],
                capture_output=True, text=True, timeout=UP_TIMEOUT_S,
            )  # fmt: skip
            wall = time.monotonic() - began
            if up.returncode != 0:
                last = (up.stderr.strip().splitlines() or ["no message"])[-1]
                raise RunFailed(f"lbdemo up ({storage}) exited with {up.returncode}: {last}")
            description = json.loads((Path(state) / "run" / "stack.json").read_text())
            return wall, float(description["started_in_s"])
        except subprocess.TimeoutExpired:
            raise RunFailed(f"lbdemo up ({storage}) took more than {UP_TIMEOUT_S} s") from None
        finally:
            # Whatever `up` got to start, `down` stops it (a no-op when nothing runs).
            subprocess.run([*base, "down", "--state", state], capture_output=True, timeout=60)


def _at_least_one(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="startup_time.py", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=_at_least_one, default=5)
    parser.add_argument("--replicas", type=_at_least_one, default=3)
    args = parser.parse_args(argv)
    try:
        for storage in ("shared", "private"):
            runs = [one_start(storage, args.replicas) for _ in range(args.runs)]
            walls, stacks = [r[0] for r in runs], [r[1] for r in runs]
            print(
                f"{storage:8} {args.replicas} replicas: `lbdemo up -d` median "
                f"{statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}); "
                f"stack alone median {statistics.median(stacks):.2f} s; {args.runs} runs"
            )
    except RunFailed as exc:
        print(f"startup_time.py: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
