"""Child processes of a benchmark: started with a ready check, always stopped by pid.

The blocking (:class:`subprocess.Popen`) counterpart of :mod:`.spawn`, for the bench, which
runs its children outside any event loop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from lbdemo.errors import ProcessError
from lbdemo.process.ready import parse_ready_line


class Children:
    """Every process the bench starts; ``stop_all`` ends them by pid (TERM, then KILL)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``argv``; ``env``: variables added to this process's environment for it."""
        log = (self.log_dir / f"{name}.log").open("wb")
        try:
            proc = subprocess.Popen(
                list(argv),
                env={**os.environ, **env} if env else None,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches us; we stop the children ourselves
            )
        except OSError as exc:
            raise ProcessError(f"cannot start {argv[0]}: {exc.strerror or exc}") from exc
        finally:
            log.close()
        self.procs.append(proc)
        return proc

    def start_with_ready_line(
        self,
        name: str,
        argv: Sequence[str],
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
    ) -> dict[str, object]:
        """Start a server process (see :mod:`lbdemo.process.serve`); return its JSON ready line.

        Other lines before it are skipped, as :func:`lbdemo.process.spawn.spawn` skips them.
        """
        proc = self.start(name, argv, env)
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        os.set_blocking(proc.stdout.fileno(), False)
        buffer = b""
        while time.monotonic() < deadline:
            chunk = proc.stdout.read()
            if chunk:
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    ready = parse_ready_line(line)
                    if ready is not None:
                        return ready
            elif proc.poll() is not None:
                raise ProcessError(f"{name} exited with status {proc.returncode} at start")
            time.sleep(0.02)
        raise ProcessError(f"{name} printed no ready line within {timeout:.0f} s")

    def stop_all(self, timeout: float = 5.0) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout)
            if proc.stdout is not None:
                proc.stdout.close()
        self.procs.clear()
