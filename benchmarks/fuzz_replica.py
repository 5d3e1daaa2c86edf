"""How many cases each fuzzer ran, and what they came to: the figures for results/robustness.md.

    .venv/bin/python benchmarks/fuzz_replica.py [--examples 1000] [--json out.json]

Runs ``tests/fuzz`` (hypothesis) with ``LBDEMO_FUZZ_EXAMPLES`` examples per fuzzer: the
replica API drawn from its OpenAPI description against a real replica process on embedded
PostgreSQL, container and volume names, ``-v`` and ``--mount`` specs, and ``volume create``
through the CLI. Prints a Markdown table per fuzzer (cases by outcome) and pytest's verdict;
exits 1 if a fuzzer found a failure (hypothesis then prints the smallest failing case).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(prog="fuzz_replica.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples", type=int, default=1000, help="examples per fuzzer (default 1000)"
    )
    parser.add_argument("--json", type=Path, help="also write the tally here")
    args = parser.parse_args(argv)
    if args.examples < 1:
        parser.error("--examples must be at least 1")
    return args


def render(tally: dict[str, dict[str, int]]) -> str:
    lines = ["| fuzzer | cases | outcomes |", "|---|---:|---|"]
    for fuzzer, outcomes in tally.items():
        shown = ", ".join(f"{outcome}: {count}" for outcome, count in outcomes.items())
        lines.append(f"| {fuzzer} | {sum(outcomes.values()):,} | {shown} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lbdemo-fuzz-") as scratch:
        report = Path(scratch) / "tally.json"
        env = {"LBDEMO_FUZZ_EXAMPLES": str(args.examples), "LBDEMO_FUZZ_REPORT": str(report)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "tests/fuzz"]  # fmt: skip
        began = time.monotonic()
        result = subprocess.run(
            command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        took = time.monotonic() - began
        tally = json.loads(report.read_text()) if report.exists() else {}
    verdict = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "no output"
    print(f"LBDEMO_FUZZ_EXAMPLES={args.examples} pytest tests/fuzz: {verdict} ({took:.0f} s)\n")
    print(render(tally))
    if args.json is not None:
        args.json.write_text(json.dumps(
            {"examples": args.examples, "verdict": verdict, "seconds": round(took, 1),
             "tally": tally}, indent=2) + "\n")  # fmt: skip
    if result.returncode != 0:
        print("\n" + result.stdout[-4000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
