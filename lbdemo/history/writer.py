"""Writing a history file: :class:`HistoryWriter`, which the locustfile records with, and where
each worker of a distributed run writes its part.

Standard library plus msgspec only (no asyncio, no Locust), and cheap to import: every Locust
process imports it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import msgspec

from lbdemo.history.record import FORMAT, HistoryHeader, Op

_BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str | None:
    """This boot of this machine (Linux), the scope within which monotonic times compare."""
    try:
        return _BOOT_ID_FILE.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def worker_history_path(path: str | os.PathLike[str], worker_index: int) -> Path:
    """Where worker ``worker_index`` of a distributed Locust run writes its part of ``path``:
    ``history.jsonl`` -> ``history.w0.jsonl``; lbdemo merges the parts into ``path``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.w{worker_index}{path.suffix}")


_ENCODER = msgspec.json.Encoder()


class HistoryWriter:
    """Writes one history file: the header line on :meth:`open`, then one line per operation.

    Lines are buffered and written every ``flush_lines`` lines or ``flush_interval_s`` seconds:
    a Locust process records thousands of operations per second and should not pay a system
    call for each. Not thread-safe, and need not be: Locust's users are greenlets on one thread
    and :meth:`record` never yields. ``with HistoryWriter(...) as w`` opens and closes it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        host: str | None = None,
        *,
        flush_lines: int = 2000,
        flush_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_anchor: float | None = None,
        mono_anchor: float | None = None,
        header_fields: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.host = host
        # Extra header fields (a merged file names its parts); readers ignore unknown fields.
        self._header_fields = dict(header_fields or {})
        self.ops_recorded = 0
        self.header: HistoryHeader | None = None
        self._anchors = (wall_anchor, mono_anchor)
        self._flush_lines = flush_lines
        self._flush_interval_s = flush_interval_s
        self._clock = clock
        self._buffer: list[bytes] = []
        self._last_flush = 0.0
        self._file: IO[bytes] | None = None

    @property
    def is_open(self) -> bool:
        return self._file is not None

    def open(self) -> HistoryWriter:
        """Start the file afresh (a new run never appends to an old one) with its header line."""
        self.close()
        wall, mono = self._anchors
        if wall is None or mono is None:
            # Read both clocks back to back so the anchors describe the same instant.
            wall, mono = time.time(), time.monotonic()
        pid = self._header_fields.get("pid", os.getpid())
        self.header = HistoryHeader(
            wall_anchor=wall, mono_anchor=mono, pid=pid, host=self.host, boot_id=boot_id()
        )
        self._file = self.path.open("wb")
        head = {
            "type": "header",
            "format": FORMAT,
            "wall_anchor": wall,
            "mono_anchor": mono,
            "pid": pid,
            "host": self.host,
            "boot_id": self.header.boot_id,
            **self._header_fields,
        }
        self._file.write(_ENCODER.encode(head) + b"\n")
        self._file.flush()
        self.ops_recorded = 0
        self._last_flush = self._clock()
        return self

    def write(self, op: Op) -> None:
        """Buffer one operation line; flush when the buffer is big or old enough."""
        if self._file is None:
            raise ValueError(f"history writer for {self.path} is not open")
        self._buffer.append(_ENCODER.encode(op))
        self.ops_recorded += 1
        if (
            len(self._buffer) >= self._flush_lines
            or self._clock() - self._last_flush >= self._flush_interval_s
        ):
            self.flush()

    def write_all(self, ops: Iterable[Op]) -> None:
        for op in ops:
            self.write(op)

    def record(self, **fields: Any) -> None:
        """:meth:`write` an Op given by keyword (``client=..., op=..., ...``)."""
        self.write(Op(**fields))

    def flush(self) -> None:
        if self._file is None:
            return
        if self._buffer:
            self._buffer.append(b"")
            self._file.write(b"\n".join(self._buffer))
            self._buffer.clear()
        self._file.flush()
        self._last_flush = self._clock()

    def close(self) -> None:
        if self._file is None:
            return
        self.flush()
        self._file.close()
        self._file = None

    def __enter__(self) -> HistoryWriter:
        return self if self.is_open else self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
