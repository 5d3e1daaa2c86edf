"""One stack per state root, whichever runtime runs it: the stack lock under ``run/``."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from lbdemo.config import take_stack_lock_fd
from lbdemo.errors import StateError


def _flock_soon(fd: int) -> bool:
    """Take the exclusive flock within a fifth of a second: `down` probing the lock (a shared
    flock for an instant) must not make a starting stack refuse."""
    for _ in range(10):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.02)
    return False


class StackLock:
    """One stack per state root: an flock held for the stack's life, released by the kernel
    if the process dies. Without it, a second stack (``lbdemo demo`` beside a running ``lbdemo
    up``) would clear the first one's containers and stop its database."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @property
    def fd(self) -> int:
        return self._fd

    @classmethod
    def acquire(cls, path: Path, state_root: Path) -> StackLock:
        """The lock at ``path``: the one this process was handed (``up`` claims it at its first
        instant, ``up -d`` passes it to its background process), else taken now."""
        fd = take_stack_lock_fd(path)
        if fd is None:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            if not _flock_soon(fd):
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise StateError(
                    f"a stack is already running on {state_root} (pid {holder}); stop it with "
                    "`lbdemo down`, or give this one its own --state"
                )
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        return cls(fd)

    @staticmethod
    def holder(path: Path) -> int | None:
        """The pid written in the lock at ``path`` while it is held (None: free, or no pid yet)."""
        if not StackLock.held(path):
            return None
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        os.close(self._fd)  # closing the descriptor drops the flock

    @staticmethod
    def held(path: Path) -> bool:
        """Whether a live stack holds the lock at ``path`` (no file: nobody does)."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False
