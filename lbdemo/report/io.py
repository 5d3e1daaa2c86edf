"""Reading and writing report files, with one-line errors for anything that is not a report."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lbdemo.errors import UsageError
from lbdemo.report.build import REPORT_FORMAT


def load_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read report {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not an lbdemo report (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise UsageError(f"{path}: not an lbdemo report (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise UsageError(
            f"{path}: not an lbdemo report (format {found!r}, expected {REPORT_FORMAT!r})"
        )
    for field in ("verdict", "totals", "anomalies"):
        if field not in data:
            raise UsageError(f"{path}: not an lbdemo report (no {field!r} field)")
    return data


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a file the user named; a missing directory or a permission is a usage error."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_json(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")
