"""Writing the files lbdemo writes: whole or not at all, one-line errors. The one writer of
every JSON file the project writes (reports, audits, stack.json, the bench's results)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lbdemo.errors import UsageError


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
