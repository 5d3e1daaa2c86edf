"""TCP ports on 127.0.0.1: one that is free, and waiting for a child to listen on one, for
servers that cannot report the port they bound themselves (those that can print it in their
ready line)."""

from __future__ import annotations

import socket
import subprocess
import time

from lbdemo.errors import ProcessError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (callers retry on a clash), for
    servers that cannot report the port they bound themselves."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(name: str, port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ProcessError(f"{name} exited with status {proc.returncode} at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ProcessError(f"{name} did not listen on port {port} within {timeout:.0f} s")
