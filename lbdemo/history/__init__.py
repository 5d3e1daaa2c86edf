"""The operation history: one JSON Lines file per load-generating process (docs/history-format.md)."""

from __future__ import annotations

from lbdemo.history.reader import (
    FAIL,
    FORMAT,
    OK,
    READ,
    UNKNOWN,
    WRITE,
    History,
    HistoryHeader,
    HistoryWriter,
    Op,
    boot_id,
    check_one_clock,
    check_one_op_per_client,
    group_by_key,
    read_history,
    worker_history_path,
)

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
