"""Processes known by pid alone: alive or not (and the same process or a later one that reused the
pid), signalled. For what outlives the lbdemo process that started it (pid files, containers)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name, or None if there is none.

    The command name (field 2) may hold spaces and parentheses; the fields after it are fixed:
    [0] is the state, [19] the start time in clock ticks since boot.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def process_start_ticks(pid: int) -> int | None:
    """When ``pid`` started (ticks since boot), to tell a reused pid apart later."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int, start_ticks: int | None = None) -> bool:
    """True if ``pid`` is a live process: not a zombie, and (given ``start_ticks``) not a later
    process that reused the pid."""
    if pid <= 0:
        return False
    fields = _stat_fields(pid)
    if not fields or fields[0] in ("Z", "X"):
        return False
    return start_ticks is None or process_start_ticks(pid) == start_ticks


def signal_pid(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
