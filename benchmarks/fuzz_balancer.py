"""Run the balancer's framing fuzzer for N cases and print how many ended which way.

    .venv/bin/python benchmarks/fuzz_balancer.py [N] [--seed S]

Each case is a generated request (valid or malformed) followed by a plain one, delivered in
random pieces to a real ClientConnection in process, and compared with h11's reading of the
same bytes (tests/balancer/framing.py). Exit status 1 if any case frames differently, or
forwards a request h11 refuses for a reason other than a missing Host or empty lines.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "balancer"))

from framing import FramingMismatch, compare  # noqa: E402
from fuzz_heads import requests  # noqa: E402
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", metavar="OUTCOME", help="print up to 5 inputs with this outcome")
    args = parser.parse_args()
    if args.cases < 1:
        print("fuzz_balancer: error: cases must be at least 1", file=sys.stderr)
        return 2
    outcomes: Counter[str] = Counter()
    mismatches: list[str] = []
    shown: list[bytes] = []

    @seed(args.seed)
    @settings(
        max_examples=args.cases,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=requests(), splits=st.lists(st.integers(1, 400), max_size=4))
    def case(data: bytes, splits: list[int]) -> None:
        try:
            outcome = compare(data, tuple(splits))
            outcomes[outcome] += 1
            if outcome == args.show and len(shown) < 5:
                shown.append(data)
        except FramingMismatch as exc:
            outcomes["framing-mismatch"] += 1
            mismatches.append(f"{exc}: {data[:300]!r}")

    began = time.perf_counter()
    case()
    took = time.perf_counter() - began
    total = sum(outcomes.values())
    print(f"balancer framing fuzz: {total} cases in {took:.1f} s (seed {args.seed})")
    for outcome, count in outcomes.most_common():
        print(f"  {outcome:20} {count:7,}  ({100 * count / total:.1f} %)")
    for data in shown:
        print(f"  {args.show}: {data[:300]!r}")
    for line in mismatches[:10]:
        print("  MISMATCH", line)
    return 1 if mismatches or outcomes["balancer-laxer"] else 0


if __name__ == "__main__":
    sys.exit(main())
