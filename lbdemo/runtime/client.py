"""The CLI's side of the local runtime's daemon API: find a state root's daemon, ask it things.

Synchronous on purpose (``urllib``): a command makes one or a few requests and exits. With no
daemon (no ``daemon.json``, or nobody listening where it points) the commands print what
``docker`` prints without dockerd, adapted::

    Cannot connect to the lbdemo daemon at <state>. Is 'lbdemo up' running?
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from lbdemo.containers.errors import DaemonError
from lbdemo.errors import LbdemoError, StateError
from lbdemo.runtime.api import DAEMON_FILE

REQUEST_TIMEOUT_S = 300.0  # an upgrade of many replicas answers only when it is done
# The daemon is on 127.0.0.1: never route it through a proxy named in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DaemonUnavailable(LbdemoError):
    def __init__(self, state_root: Path) -> None:
        super().__init__(
            f"Cannot connect to the lbdemo daemon at {state_root}. Is 'lbdemo up' running?"
        )


class DaemonRefusal(StateError, DaemonError):
    """The running daemon answered a request with an error (``status`` is its HTTP status);
    like every :class:`DaemonError`, Docker prints it after ``Error response from daemon:``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class DaemonClient:
    def __init__(self, state_root: Path, url: str, token: str) -> None:
        self.state_root = state_root
        self.url = url.rstrip("/")
        self.token = token

    @classmethod
    def connect(cls, state_root: Path) -> DaemonClient:
        """The client of the daemon running on ``state_root``; DaemonUnavailable if none is."""
        try:
            info = json.loads((state_root / "run" / DAEMON_FILE).read_text())
            client = cls(state_root, str(info["url"]), str(info["token"]))
        except (OSError, ValueError, KeyError, TypeError):
            raise DaemonUnavailable(state_root) from None
        client.request("GET", "/_ping", timeout_s=5.0)
        return client

    @classmethod
    def maybe_connect(cls, state_root: Path) -> DaemonClient | None:
        try:
            return cls.connect(state_root)
        except DaemonUnavailable:
            return None

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(req, timeout=timeout_s) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("message", exc.reason)
            except (ValueError, AttributeError):
                message = str(exc.reason)
            raise DaemonRefusal(exc.code, str(message)) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            raise DaemonUnavailable(self.state_root) from None
