"""The lines the workload prints for lbdemo to read: one format, written and parsed here.

* ``progress: [worker=K ]elapsed=3.0s ops=1234 ops_per_s=411 failures=0 stale_reads=7``: every
  ``--progress-interval`` seconds while a run goes on (a distributed run's workers add
  ``worker=K``; lbdemo's combined line adds ``workers=N``);
* ``summary: {json}``: once, at the end, the run's exact totals (Locust's CSV files lag).

Both the Locust process (gevent) and lbdemo's asyncio process import this module, so it imports
only the standard library.
"""

from __future__ import annotations

import json
from typing import Any

PROGRESS_MARK = "progress:"
SUMMARY_MARK = "summary: "


def progress_line(fields: dict[str, str]) -> str:
    """``progress: name=value ...`` in the order given (values must hold no spaces)."""
    return " ".join([PROGRESS_MARK, *(f"{name}={value}" for name, value in fields.items())])


def progress_fields(line: str) -> dict[str, str] | None:
    """The ``name=value`` pairs of a progress line as text, or None for any other line.

    Words without ``=`` are skipped, so a reader takes the fields it knows and ignores the rest.
    """
    if not line.startswith(PROGRESS_MARK):
        return None
    words = line[len(PROGRESS_MARK) :].split()
    return dict(word.split("=", 1) for word in words if "=" in word)


def elapsed_s(fields: dict[str, str]) -> float:
    """The ``elapsed=3.0s`` field in seconds; ValueError or KeyError when absent or garbled."""
    return float(fields["elapsed"].removesuffix("s"))


def summary_line(data: dict[str, Any]) -> str:
    return SUMMARY_MARK + json.dumps(data)


def summary_data(line: str | None) -> dict[str, Any] | None:
    """The JSON object of a summary line, or None when the line is absent, another or garbled."""
    if line is None or not line.startswith(SUMMARY_MARK):
        return None
    try:
        data = json.loads(line[len(SUMMARY_MARK) :])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
