"""Reading reports, with one-line errors for anything that is not one (writing: lbdemo.files)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lbdemo.checker import KINDS
from lbdemo.errors import UsageError
from lbdemo.files import read_json, write_json, write_text
from lbdemo.report.build import REPORT_FORMAT

REPORT_FAMILY = REPORT_FORMAT.rsplit("/", 1)[0]  # "lbdemo-report"
# A report is tens of kilobytes (examples and witnesses are capped): far more is not one.
MAX_REPORT_BYTES = 64 << 20


def load_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A report of this version's format; anything else is a one-line UsageError."""
    data = read_json(path, "report", MAX_REPORT_BYTES)
    found = data.get("format") if isinstance(data, dict) else None
    if isinstance(found, str) and found.startswith(f"{REPORT_FAMILY}/") and found != REPORT_FORMAT:
        raise UsageError(
            f"{path}: a {found} report, which this lbdemo does not read (it reads "
            f"{REPORT_FORMAT}); re-run the scenario, or re-check its history with "
            "`lbdemo check --history`"
        )
    if not isinstance(data, dict) or found != REPORT_FORMAT:
        raise UsageError(
            f"{path}: not an lbdemo report (format {found!r}, expected {REPORT_FORMAT!r})"
        )
    for field in ("verdict", "totals", "anomalies"):
        if field not in data:
            raise UsageError(f"{path}: not an lbdemo report (no {field!r} field)")
    _check_shape(path, data)
    return data


# What readers (Markdown, compare, check) index into, and its JSON types: a hand-edited or
# truncated report is refused here in one line instead of failing half-way through a table.
# (docs/schemas/lbdemo-report-2.schema.json says all of it; this is the part code relies on.)
OBJECT, ARRAY, TEXT = (dict,), (list,), (str,)
COUNT: tuple[type, ...] = (int,)
NUMBER: tuple[type, ...] = (int, float)
MAYBE_COUNT, MAYBE_NUMBER = (int, type(None)), (int, float, type(None))
_SHAPE: list[tuple[str, tuple[type, ...]]] = [
    ("run", OBJECT),
    ("verdict", TEXT),
    ("audited", (bool,)),
    ("totals", OBJECT),
    ("totals.by_outcome", OBJECT),
    *[
        (f"totals.{k}", COUNT)
        for k in (
            "ops",
            "reads",
            "writes",
            "observed_reads",
            "acknowledged_writes",
            "unknown_writes",
            "keys",
        )
    ],
    *[(f"totals.by_outcome.{k}", COUNT) for k in ("ok", "fail", "unknown")],
    ("measured_duration_s", NUMBER),
    ("ops_per_s", MAYBE_NUMBER),
    ("latency_ms", OBJECT),
    *[(f"latency_ms.{w}", OBJECT) for w in ("all", "reads", "writes")],
    *[
        (f"latency_ms.{w}.{p}", MAYBE_NUMBER)
        for w in ("all", "reads", "writes")
        for p in ("p50", "p95", "p99")
    ],
    ("anomalies", OBJECT),
    *[(f"anomalies.{kind}", OBJECT) for kind in KINDS],
    *[(f"anomalies.{kind}.count", COUNT) for kind in KINDS],
    *[(f"anomalies.{kind}.rate", MAYBE_NUMBER) for kind in KINDS],
    ("linearizability", OBJECT),
    ("linearizability.verdict", TEXT),
    ("linearizability.keys_linearizable", COUNT),
    ("linearizability.keys_not_linearizable", COUNT),
    ("linearizability.witnesses", ARRAY),
    ("divergent_keys", OBJECT),
    ("divergent_keys.count", MAYBE_COUNT),
    ("divergent_keys.examples", ARRAY),
    ("lost_writes", OBJECT),
    ("lost_writes.count", MAYBE_COUNT),
    ("lost_writes.rate", MAYBE_NUMBER),
    ("lost_writes.examples", ARRAY),
    ("replicas", ARRAY),
    ("explained_anomalies", ARRAY),
]
_ITEMS = {  # arrays of objects, and the text fields each object must have
    "linearizability.witnesses": ("key", "witness"),
    "replicas": ("replica",),
    "explained_anomalies": ("kind", "explanation"),
}


def _at(data: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    value: Any = data
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return False, None
        value = value[key]
    return True, value


def _check_shape(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    def refuse(what: str) -> UsageError:
        return UsageError(f"{path}: malformed lbdemo report ({what})")

    for dotted, types in _SHAPE:
        present, value = _at(data, dotted)
        if not present:
            raise refuse(f"no {dotted}")
        # bool is an int to Python, never a count or a figure to us.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise refuse(f"{dotted} is {type(value).__name__}")
    for dotted, fields in _ITEMS.items():
        for item in _at(data, dotted)[1]:
            if not isinstance(item, dict) or not all(isinstance(item.get(f), str) for f in fields):
                raise refuse(f"{dotted} holds an entry without {' and '.join(fields)}")


def refuse_overwriting_inputs(
    inputs: Sequence[str | os.PathLike[str]], outputs: dict[str, str | os.PathLike[str] | None]
) -> None:
    """A usage error when an output (``{"--out": path}``) names one of the input files: a
    typo must not replace a run's report or history with a table."""
    taken = {Path(path).resolve() for path in inputs}
    for flag, path in outputs.items():
        if path is not None and Path(path).resolve() in taken:
            raise UsageError(f"{flag} {path} is one of the input files; choose another name")


__all__ = ["REPORT_FAMILY", "load_report", "refuse_overwriting_inputs", "write_json", "write_text"]
