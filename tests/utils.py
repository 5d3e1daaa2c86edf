"""Helpers for tests that run real processes: a stack as an async context manager."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from lbdemo.stack import Stack, StackConfig, Storage


@contextlib.asynccontextmanager
async def running_stack(
    state_root: Path, *, storage: Storage, replicas: int = 3, dsn: str | None = None
) -> AsyncIterator[Stack]:
    """A real stack on free ports; stopped on exit, also when the test fails."""
    stack = Stack(StackConfig(state_root=state_root, replicas=replicas, storage=storage,
                              dsn=dsn, balancer_listen="127.0.0.1:0"))
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()
