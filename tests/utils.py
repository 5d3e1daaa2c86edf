"""The helpers every test shares: a real stack as an async context manager, the CLI run as a
user would run it (through ``lbdemo.cli.main``), and waiting for a condition."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lbdemo.cli import main
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from lbdemo.runtime.stack import Stack

# The load tests' think time (lbdemo demo --think-time): each Locust user pauses this many ms
# between operations. Their assertions need hundreds of operations, not the thousands users
# without a pause make; without it each load test takes both cores for its whole run and
# starves the tests running beside it (make test ran about 20 % faster with it).
THINK_MS = 50


@contextlib.asynccontextmanager
async def running_stack(
    state_root: Path,
    *,
    storage: str = "shared",
    replicas: int = 3,
    dsn: str | None = None,
    restart: str = "replace",
    image: str = "lbdemo/catalog:1.0",
) -> AsyncIterator[Stack]:
    """A real stack (its daemon included) on free ports; stopped on exit, also on failure."""
    stack = Stack(
        StackConfig(
            state_root=state_root,
            layout=Layout.from_options(storage, dsn=dsn),
            replicas=replicas,
            image=image,
            balancer_listen="127.0.0.1:0",
            restart=restart,
        )
    )
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 where every connection is refused, for as long as the block runs.

    The socket stays bound but never listens: the kernel refuses connections to it, and no other
    process (another test worker, another stack) can take the port in the meantime, as it could
    one that was merely free a moment ago.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@dataclass
class Result:
    status: int
    out: str
    err: str


def run_cli(*argv: str, stdin: str = "") -> Result:
    """``lbdemo ARGV`` in this process: exit status, stdout and stderr, as a shell would see."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(list(argv))
            except SystemExit as exc:  # argparse's usage errors and --help
                status = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    finally:
        sys.stdin = old_stdin
    return Result(status, out.getvalue(), err.getvalue())


def assert_demo_refused(tmp_path: Path, *args: str) -> Result:
    """``lbdemo demo ARGS`` refused as a bad option: exit status 2, one line on stderr and no
    traceback, and neither the state root nor the output folder made (nothing was started)."""
    state, out = tmp_path / "state", tmp_path / "out"
    result = run_cli("demo", "--state", str(state), "--out", str(out), *args)
    assert result.status == 2, result
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert not state.exists() and not out.exists()
    return result


async def run_cli_async(*argv: str) -> Result:
    """:func:`run_cli` in a worker thread: for commands that talk to a daemon running on the
    test's own event loop."""
    return await asyncio.to_thread(run_cli, *argv)


async def eventually(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def run_cli_process(
    state: Path, *argv: str, timeout: float = 60, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``lbdemo ARGV`` as a real process on ``state``, for what only a shell shows (argv bytes
    as typed, the exit status of the interpreter itself); ``path``: its ``$PATH`` instead."""
    env = {**os.environ, "LBDEMO_STATE": str(state)}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "lbdemo", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def up_process(state: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``lbdemo up`` in the foreground as a real process on a free port (stdout piped, stderr
    discarded); SIGKILLed on exit if the test has not stopped it, so nothing outlives a failure."""
    argv = [sys.executable, "-m", "lbdemo", "up", "--state", str(state), "--port", "0", *args]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def read_lines_until(process: subprocess.Popen[str], last: str, timeout_s: float = 60) -> list[str]:
    """What ``process`` prints, a line at a time, up to and including the line ``last``."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while last not in lines:
        assert time.monotonic() < deadline and process.poll() is None, lines
        lines.append(process.stdout.readline().rstrip("\n"))
    return lines


async def serve_app(app: Any) -> tuple[Any, int]:
    """An aiohttp application served on 127.0.0.1 (a free port): its runner and the port."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


async def raw_exchange(port: int, request: bytes, timeout_s: float = 10.0) -> bytes:
    """Send ``request`` as it is (bytes a client library would refuse to send) and read the
    whole answer (the request should say ``Connection: close``)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout_s)
    finally:
        writer.close()
