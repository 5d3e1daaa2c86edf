"""Fuzzing support: how many examples to run, and a tally of what every case came to.

``LBDEMO_FUZZ_EXAMPLES=N`` runs N examples per fuzzer instead of the quick default; with
``LBDEMO_FUZZ_REPORT=path.json`` the tally (cases per fuzzer, by outcome) is written there at
the end of the session (``benchmarks/fuzz_replica.py`` sets both and prints the table).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fuzz.tally import REPORT_ENV, TALLY


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(REPORT_ENV)
    if target and TALLY:
        report = {name: dict(sorted(outcomes.items())) for name, outcomes in TALLY.items()}
        Path(target).write_text(json.dumps(report, indent=2) + "\n")
