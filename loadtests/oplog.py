"""The operation history a Locust process writes: ``lbdemo-history/1`` JSON Lines.

The format is fixed in ``docs/history-format.md``; this module is the writer and the rules that
turn an HTTP result into an ``outcome``. It imports only the standard library, so it runs inside
Locust's gevent-patched process and in plain unit tests alike.

Lines are buffered and written in batches: a load generator that issued one ``write(2)`` per
operation would spend its time in the kernel instead of on the wire.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

FORMAT = "lbdemo-history/1"

OK = "ok"
FAIL = "fail"
UNKNOWN = "unknown"


def write_outcome(
    status: int | None, error: BaseException | None, body_complete: bool = True
) -> str:
    """The ``outcome`` of a ``PUT``: did the write certainly, certainly not, or maybe take effect?

    ``status`` is ``None`` when no response arrived; ``error`` is what the client raised then.
    Only a refused connection proves the request never left; every other transport error may
    have happened after the replica committed. A balancer's 502/504 come after forwarding, so
    the write may have landed; 503 means no replica was tried, and a 4xx is a rejected request.
    Other 5xx are ``unknown`` because the checker treats ``unknown`` as "maybe applied", the
    only safe reading when we cannot tell.
    """
    if status is None:
        return FAIL if isinstance(error, ConnectionRefusedError) else UNKNOWN
    if 200 <= status < 300:
        # The status line says the replica acknowledged; a body cut off afterwards cannot undo
        # the write, but it also means we did not see the full answer, so stay conservative.
        return OK if body_complete else UNKNOWN
    if 400 <= status < 500 or status == 503:
        return FAIL
    return UNKNOWN


def read_outcome(status: int | None, body_complete: bool = True) -> str:
    """The ``outcome`` of a ``GET``: ``ok`` when it observed the key (200) or its absence (404)."""
    if status in (200, 404) and body_complete:
        return OK
    return FAIL


def history_path_for_process(path: Path, *, per_process: bool, pid: int | None = None) -> Path:
    """Where this process writes its history.

    One file per Locust process, so worker processes never interleave lines: a worker writes
    ``history.<pid>.jsonl`` next to the requested ``history.jsonl``; a standalone run writes
    the requested path itself.
    """
    if not per_process:
        return path
    pid = os.getpid() if pid is None else pid
    return path.with_name(f"{path.stem}.{pid}{path.suffix}")


class HistoryWriter:
    """Appends operations to one history file, flushing every N lines or every T seconds.

    Not thread-safe, and need not be: Locust's users are greenlets on one thread, and
    :meth:`record` never yields.
    """

    def __init__(
        self,
        path: Path,
        host: str,
        *,
        flush_lines: int = 2000,
        flush_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.host = host
        self.ops_recorded = 0
        self._flush_lines = flush_lines
        self._flush_interval_s = flush_interval_s
        self._clock = clock
        self._buffer: list[str] = []
        self._last_flush = 0.0
        self._file: IO[str] | None = None

    @property
    def is_open(self) -> bool:
        return self._file is not None

    def open(self) -> None:
        """Start the file afresh (a new run never appends to an old one) with its header line."""
        self.close()
        self._file = self.path.open("w", encoding="utf-8")
        # Read both clocks back to back so the anchors describe the same instant.
        wall, mono = time.time(), time.monotonic()
        header = {
            "type": "header",
            "format": FORMAT,
            "wall_anchor": wall,
            "mono_anchor": mono,
            "pid": os.getpid(),
            "host": self.host,
        }
        self._file.write(json.dumps(header) + "\n")
        self._file.flush()
        self.ops_recorded = 0
        self._last_flush = self._clock()

    def record(
        self,
        *,
        client: str,
        op: str,
        key: str,
        write_id: str | None,
        price: int | None,
        invoke: float,
        complete: float,
        status: int | None,
        outcome: str,
        replica: str | None,
    ) -> None:
        """Buffer one operation line; flush when the buffer is big or old enough."""
        line: dict[str, Any] = {
            "type": "op",
            "client": client,
            "op": op,
            "key": key,
            "write_id": write_id,
            "price": price,
            "invoke": invoke,
            "complete": complete,
            "status": status,
            "outcome": outcome,
            "replica": replica,
        }
        self._buffer.append(json.dumps(line))
        self.ops_recorded += 1
        if (
            len(self._buffer) >= self._flush_lines
            or self._clock() - self._last_flush >= self._flush_interval_s
        ):
            self.flush()

    def flush(self) -> None:
        if self._file is None:
            return
        if self._buffer:
            self._file.write("\n".join(self._buffer) + "\n")
            self._buffer.clear()
        self._file.flush()
        self._last_flush = self._clock()

    def close(self) -> None:
        if self._file is None:
            return
        self.flush()
        self._file.close()
        self._file = None
