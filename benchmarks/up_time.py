"""``lbdemo up`` time against the number of replicas, shared storage.

    .venv/bin/python benchmarks/up_time.py [--replicas 2,4,8,16] [--runs 3]

For each N, ``--runs`` fresh stacks (``benchmarks/startup_time.py``'s ``one_start``: ``lbdemo up
-d --storage shared --replicas N --port 0`` on a temporary state root, then ``lbdemo down``,
also when ``up`` failed). Prints one Markdown row per run: the whole command's wall time, the
stack's own "all healthy in" figure (``started_in_s``) and the 1-minute load average before and
after, then the medians per N. A failed run is one line on stderr and exit status 1.
"""

from __future__ import annotations

import os
import statistics
import sys

from startup_time import RunFailed, _at_least_one, one_start  # the sibling script

from lbdemo.process.options import OneLineParser


def _counts(text: str) -> list[int]:
    return [_at_least_one(part) for part in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="up_time.py", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=_counts, default=[2, 4, 8, 16])
    parser.add_argument("--runs", type=_at_least_one, default=3)
    args = parser.parse_args(argv)
    medians: list[tuple[int, float, float]] = []
    print("| replicas | run | `up -d` wall s | all healthy in s | load 1 min before → after |")
    print("|---:|---:|---:|---:|---|")
    try:
        for n in args.replicas:
            walls, stacks = [], []
            for run in range(1, args.runs + 1):
                before = os.getloadavg()[0]
                wall, stack = one_start("shared", n)
                after = os.getloadavg()[0]
                walls.append(wall)
                stacks.append(stack)
                print(f"| {n} | {run} | {wall:.2f} | {stack:.2f} | {before:.2f} → {after:.2f} |")
            medians.append((n, statistics.median(walls), statistics.median(stacks)))
    except RunFailed as exc:
        print(f"up_time.py: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print("\n| replicas | median `up -d` wall s | median all healthy in s |")
    print("|---:|---:|---:|")
    for n, wall, stack in medians:
        print(f"| {n} | {wall:.2f} | {stack:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
