"""A container's output file, read and followed as ``docker logs`` reads the json-file driver's.

A container's stdout and stderr go to ``<state>/containers/<id>/container.log`` (beside its
record), so the output of an exited container can still be read, and it goes with ``lbdemo rm``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

POLL_S = 0.2


def tail_lines(data: bytes, count: int | None) -> bytes:
    """The last ``count`` lines of ``data`` (None: all of it)."""
    if count is None:
        return data
    if count == 0:
        return b""
    lines = data.splitlines(keepends=True)
    return b"".join(lines[-count:])


def follow(
    path: Path, position: int, keep_going: Callable[[], bool], write: Callable[[bytes], None]
) -> int:
    """Hand what is appended to ``path`` from ``position`` on to ``write`` while
    ``keep_going()``; returns the position reached. One last read after it stops, so the final
    lines show."""
    while True:
        going = keep_going()
        try:
            with path.open("rb") as f:
                f.seek(position)
                chunk = f.read()
        except OSError:
            chunk = b""
        if chunk:
            position += len(chunk)
            write(chunk)
        if not going:
            return position
        time.sleep(POLL_S)
