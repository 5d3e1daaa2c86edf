"""The operation history: one JSON Lines file per load-generating process, the checker's input.

- :mod:`.record`: the format's name, :class:`Op`, a file's header, a run's :class:`History`
- :mod:`.writer`: :class:`HistoryWriter`, which the locustfile records with (no asyncio here)
- :mod:`.reader`: :func:`read_history` decodes, merges and checks the files (the tuned path)
- :mod:`.rules`: what a history keeps to beyond each line's shape

The format: ``docs/history-format.md``. The names below are the ones callers use.
"""

from __future__ import annotations

from lbdemo.history.reader import read_history
from lbdemo.history.record import (
    FAIL,
    FORMAT,
    OK,
    READ,
    UNKNOWN,
    WRITE,
    History,
    HistoryHeader,
    Op,
    group_by_key,
)
from lbdemo.history.rules import check_one_clock, check_one_op_per_client
from lbdemo.history.writer import HistoryWriter, boot_id, worker_history_path

__all__ = [
    "FAIL",
    "FORMAT",
    "OK",
    "READ",
    "UNKNOWN",
    "WRITE",
    "History",
    "HistoryHeader",
    "HistoryWriter",
    "Op",
    "boot_id",
    "check_one_clock",
    "check_one_op_per_client",
    "group_by_key",
    "read_history",
    "worker_history_path",
]
