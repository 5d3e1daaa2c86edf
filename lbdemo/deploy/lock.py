"""One stack per state root, whichever runtime runs it: the stack lock under ``run/``."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from lbdemo.errors import StateError


class StackLock:
    """One stack per state root: an flock held for the stack's life, released by the kernel
    if the process dies. Without it, a second stack (``lbdemo demo`` beside a running ``lbdemo
    up``) would clear the first one's containers and stop its database."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def acquire(cls, path: Path, state_root: Path) -> StackLock:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StateError(
                f"a stack is already running on {state_root} (pid {holder}); stop it with "
                "`lbdemo down`, or give this one its own --state"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        return cls(fd)

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
