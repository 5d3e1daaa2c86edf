"""Where a state root's dashboard lives, remembered so that it stays put across ``up``s.

``STATE/dashboard/address.json`` keeps the port and the token of the last dashboard; the next
``up --dashboard`` reuses them when the port is free, so a tab left open reconnects to the next
stack by itself. ``STATE/run/dashboard.json`` says where the running one is, for ``lbdemo
load``. Both hold the token and are created mode 600 from their first byte, like daemon.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lbdemo.process.pids import pid_alive
from lbdemo.runtime.api import write_daemon_file

ADDRESS_FILE = "address.json"
RUNNING_FILE = "dashboard.json"


def dashboard_dir(state_root: Path) -> Path:
    return state_root / "dashboard"


def remembered(state_root: Path) -> tuple[int, str] | None:
    """(port, token) of this state root's last dashboard, or None."""
    data = _read(dashboard_dir(state_root) / ADDRESS_FILE)
    if data is None:
        return None
    port, token = data.get("port"), data.get("token")
    if not isinstance(port, int) or not 0 < port < 65536 or not isinstance(token, str):
        return None
    if not 16 <= len(token) <= 128:
        return None
    return port, token


def remember(directory: Path, port: int, token: str) -> None:
    """Keep the address in ``directory`` (``STATE/dashboard``, see :func:`dashboard_dir`)."""
    write_daemon_file(directory / ADDRESS_FILE, {"port": port, "token": token})


def announce(state_root: Path, url: str, token: str) -> None:
    """The running dashboard, for ``lbdemo load`` (removed by :func:`withdraw`)."""
    data = {"url": url, "token": token, "pid": os.getpid()}
    write_daemon_file(state_root / "run" / RUNNING_FILE, data)


def withdraw(state_root: Path) -> None:
    path = state_root / "run" / RUNNING_FILE
    data = _read(path)
    if data is not None and data.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def running(state_root: Path) -> dict[str, Any] | None:
    """``{"url", "token", "pid"}`` of the dashboard serving this state root, or None."""
    data = _read(state_root / "run" / RUNNING_FILE)
    if data is None or not isinstance(data.get("pid"), int) or not pid_alive(data["pid"]):
        return None
    if not isinstance(data.get("url"), str) or not isinstance(data.get("token"), str):
        return None
    return data


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
