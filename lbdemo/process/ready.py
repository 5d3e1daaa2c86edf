"""The ready line: the one JSON line a server process prints on stdout once it is listening,
written and read here only.

``{"event": "ready", "pid": ..., "url": ..., ...}``: the server skeleton (:mod:`.serve`) prints
it; :func:`.spawn.spawn`, the bench's :class:`.children.Children` and the Docker runtime read it
back with :func:`parse_ready_line`. Other lines a process prints before it are not it, whatever
they hold, and are skipped.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

READY_EVENT = "ready"


def announce_ready(**fields: Any) -> None:
    """Print the one ready line the supervisor waits for."""
    sys.stdout.write(json.dumps({"event": READY_EVENT, "pid": os.getpid(), **fields}) + "\n")
    sys.stdout.flush()


def parse_ready_line(line: str | bytes) -> dict[str, Any] | None:
    """The fields of ``line`` if it is a ready line, else None (not JSON, or another message)."""
    try:
        message = json.loads(line)
    except ValueError:  # also a line that is not UTF-8
        return None
    if isinstance(message, dict) and message.get("event") == READY_EVENT:
        return message
    return None
