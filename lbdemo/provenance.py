"""Interim provenance (replaced by the full version): the command that made a report."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any


def run_provenance(argv: Sequence[str], *, postgresql: str | None) -> dict[str, Any]:
    return {"command": " ".join(shlex.quote(a) for a in ["lbdemo", *argv]),
            "postgresql": postgresql}


def embedded_postgres_version() -> str:
    return "16"
