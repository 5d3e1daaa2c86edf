"""How long ``lbdemo up`` takes from start to all-healthy, per storage layout.

    .venv/bin/python benchmarks/startup_time.py [--runs 5] [--replicas 3]

Each run starts a stack in the background on a fresh state root and times the whole
``lbdemo up -d`` command, from launching it to its return once every replica is connected to
its store and listening and the balancer is ready (it includes Python's own start-up). The
stack's own figure (``started_in_s`` in ``run/stack.json``, what ``up`` prints as "all healthy
in") is shown beside it. Then ``lbdemo down``. Prints the median and the range per layout.
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


def one_start(storage: str, replicas: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="lbdemo-startup-") as state:
        base = [sys.executable, "-m", "lbdemo"]
        began = time.monotonic()
        subprocess.run(
            [*base, "up", "-d", "--state", state, "--port", "0", "--storage", storage,
             "--replicas", str(replicas)],
            check=True, capture_output=True, timeout=120,
        )
        wall = time.monotonic() - began
        try:
            description = json.loads((Path(state) / "run" / "stack.json").read_text())
        finally:
            subprocess.run([*base, "down", "--state", state], check=True, capture_output=True,
                           timeout=60)
        return wall, float(description["started_in_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--replicas", type=int, default=3)
    args = parser.parse_args()
    for storage in ("shared", "private"):
        runs = [one_start(storage, args.replicas) for _ in range(args.runs)]
        walls, stacks = [r[0] for r in runs], [r[1] for r in runs]
        print(f"{storage:8} {args.replicas} replicas: `lbdemo up -d` median "
              f"{statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}); "
              f"stack alone median {statistics.median(stacks):.2f} s; {args.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
