"""Helpers for runtime tests: a stack with its daemon, the CLI run as a user would, waiting."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from lbdemo.cli import main
from lbdemo.stack import Stack, StackConfig, Storage


@contextlib.asynccontextmanager
async def daemon_stack(
    state_root: Path, *, storage: Storage = "shared", replicas: int = 3, restart: str = "always"
) -> AsyncIterator[Stack]:
    """A real stack (its daemon included) on free ports; stopped on exit, also on failure."""
    stack = Stack(StackConfig(state_root=state_root, replicas=replicas, storage=storage,
                              balancer_listen="127.0.0.1:0", restart=restart))
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


@dataclass
class Result:
    status: int
    out: str
    err: str


async def lbdemo(root: Path, *argv: str) -> Result:
    """Run the CLI in a worker thread: the daemon it talks to runs on this test's loop."""

    def call() -> Result:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([*argv, "--state", str(root)])
        return Result(status, out.getvalue(), err.getvalue())

    return await asyncio.to_thread(call)


async def eventually(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
