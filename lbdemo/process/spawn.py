"""Child processes that the supervisor starts and must stop: spawn, wait for ready, stop.

Every child runs in its own session, so a Ctrl-C in the terminal reaches only the supervisor,
which then stops its children in order (balancer, replicas, databases). As a safety net against
a supervisor that is SIGKILLed, each child asks the kernel for a signal when its parent dies
(``PR_SET_PDEATHSIG``). That setting belongs to the *thread* that forked, so children are
spawned from the event loop's thread only (asyncio subprocesses), never from worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from lbdemo.errors import ProcessError
from lbdemo.process.ready import parse_ready_line

_PR_SET_PDEATHSIG = 1
# Resolved once in the parent: the child, between fork and exec, only makes the call.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent(sig: int) -> Any:
    def preexec() -> None:
        _prctl(_PR_SET_PDEATHSIG, sig)

    return preexec


class RunAs(TypedDict, total=False):
    """Popen keywords that make a child run as another account."""

    user: int
    group: int
    extra_groups: list[int]


@dataclass
class Child:
    """A started child process, known by pid."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path
    ready: dict[str, Any] = field(default_factory=dict)
    _drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    async def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 10.0) -> int:
        """Ask politely with ``sig``, then SIGKILL after ``timeout_s``; returns the exit status."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
            try:
                await asyncio.wait_for(self.process.wait(), timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        if self._drain is not None:
            await asyncio.gather(self._drain, return_exceptions=True)
        return self.process.returncode if self.process.returncode is not None else -1

    def kill(self) -> None:
        """SIGKILL now, as a crash would."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()


async def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    wait_ready: bool = True,
    ready_timeout_s: float = 30.0,
    parent_death_signal: int = signal.SIGTERM,
    run_as: RunAs | None = None,
    env: dict[str, str] | None = None,
) -> Child:
    """Start ``argv``; with ``wait_ready``, wait for its JSON ready line on stdout.

    Everything else the child writes goes to ``log_path``. If the child exits or stays silent
    past the timeout, it is stopped and ProcessError names the last lines of its log.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Logs name ports, paths and errors: readable by their owner only, like the state they sit in.
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)  # also a log an older lbdemo left readable
    with os.fdopen(fd, "ab") as log:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if wait_ready else log,
            stderr=log,
            start_new_session=True,
            preexec_fn=_die_with_parent(parent_death_signal),
            env=env,
            **(run_as or {}),
        )
    child = Child(name, process, log_path)
    if not wait_ready:
        return child
    try:
        child.ready = await asyncio.wait_for(_read_ready_line(process), ready_timeout_s)
    except (TimeoutError, ProcessError) as exc:
        await child.stop(timeout_s=3)
        raise ProcessError(f"{name} did not start: {_why(exc, log_path)}") from None
    child._drain = asyncio.create_task(_drain_to(process, log_path))
    return child


async def _read_ready_line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    while True:
        line = await process.stdout.readline()
        if not line:
            raise ProcessError(f"exited with status {await process.wait()}")
        message = parse_ready_line(line)
        if message is not None:
            return message


async def _drain_to(process: asyncio.subprocess.Process, log_path: Path) -> None:
    """Keep reading the child's stdout after its ready line so a full pipe never blocks it."""
    assert process.stdout is not None
    with log_path.open("ab") as log:
        while chunk := await process.stdout.read(65536):
            log.write(chunk)
            log.flush()


def _why(exc: BaseException, log_path: Path) -> str:
    reason = "no ready line in time" if isinstance(exc, TimeoutError) else str(exc)
    try:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
    except OSError:
        tail = []
    return f"{reason}" + (f"; log {log_path}: {' | '.join(tail)}" if tail else "")
