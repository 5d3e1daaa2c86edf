"""Reading reports and writing every JSON file the project writes, with one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lbdemo.errors import UsageError
from lbdemo.report.build import REPORT_FORMAT

REPORT_FAMILY = REPORT_FORMAT.rsplit("/", 1)[0]  # "lbdemo-report"


def load_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A report of this version's format; anything else is a one-line UsageError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read report {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not an lbdemo report (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise UsageError(f"{path}: not an lbdemo report (not JSON)") from None
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
    return data


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a file the user named, whole or not at all (a reader never sees half of it); a
    missing directory or a permission is a usage error."""
    target = Path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """The one writer of the project's JSON files: indented, UTF-8, newline-terminated, whole.

    NaN and infinities are refused (``json.dumps`` would write ``NaN``, which is not JSON and
    which other readers reject): a non-finite figure is a bug to surface, not to publish.
    """
    try:
        text = json.dumps(data, indent=2, allow_nan=False)
    except ValueError as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None
    write_text(path, text + "\n")
