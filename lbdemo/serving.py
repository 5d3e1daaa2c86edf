"""What every server process of lbdemo shares: the event loop, the ready line, the stop signal.

A server process announces that it is listening by printing one JSON line on stdout,
``{"event": "ready", "url": ..., "pid": ...}``; the supervisor reads exactly that line. SIGTERM
and SIGINT only set an event (the uvicorn habit: signal handlers set flags); the main coroutine
then shuts down in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def announce_ready(**fields: Any) -> None:
    """Print the one ready line the supervisor waits for."""
    sys.stdout.write(json.dumps({"event": "ready", "pid": os.getpid(), **fields}) + "\n")
    sys.stdout.flush()


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT in the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop when it is installed, else on asyncio's own loop.

    For the data path (replica, balancer). Supervising code uses plain ``asyncio.run``: uvloop's
    subprocess support lacks ``user=``/``group=``, which starting PostgreSQL as root needs.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (port 0: any free port) → (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host or "127.0.0.1", int(port)
