"""How many examples each fuzzer runs, and the tally of what every case came to."""

from __future__ import annotations

import os
from collections import Counter, defaultdict

EXAMPLES_ENV = "LBDEMO_FUZZ_EXAMPLES"
REPORT_ENV = "LBDEMO_FUZZ_REPORT"

TALLY: defaultdict[str, Counter[str]] = defaultdict(Counter)


def examples(default: int) -> int:
    """Examples per fuzzer: ``$LBDEMO_FUZZ_EXAMPLES`` if set, else ``default`` (a few seconds)."""
    raw = os.environ.get(EXAMPLES_ENV, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{EXAMPLES_ENV} must be a positive integer, got {raw!r}")
    return int(raw)


def tally(fuzzer: str, outcome: str) -> None:
    TALLY[fuzzer][outcome] += 1
