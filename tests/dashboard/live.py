"""Helpers for the dashboard tests on real processes: ``lbdemo up -d --dashboard`` (stopped with
``lbdemo down`` whatever happens) and a reader of the SSE stream, as a page reads it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout

from tests.utils import run_cli_process

LINK = re.compile(r"^  dashboard   (http://127\.0\.0\.1:\d+)/#token=([\w-]+)$", re.M)


def lbdemo(state: Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_cli_process(state, *argv, timeout=timeout)


@contextlib.contextmanager
def detached_stack(state: Path, *options: str) -> Iterator[tuple[str, str]]:
    """``lbdemo up -d --dashboard --port 0 OPTIONS``: (dashboard URL, token) from its link."""
    try:
        up = lbdemo(state, "up", "-d", "--dashboard", "--port", "0", *options)
        assert up.returncode == 0, up.stderr
        match = LINK.search(up.stdout)
        assert match, up.stdout
        yield match[1], match[2]
    finally:
        lbdemo(state, "down")


@dataclass
class Snapshots:
    """Every snapshot the stream sent, with the monotonic time it arrived."""

    seen: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def latest(self) -> dict[str, Any] | None:
        return self.seen[-1][1] if self.seen else None

    async def first(self, check: Any, timeout_s: float = 30.0) -> tuple[float, dict[str, Any]]:
        """The first snapshot (and its time) that passes ``check``, waiting for it."""
        deadline = time.monotonic() + timeout_s
        index = 0
        while True:
            while index < len(self.seen):
                at, snap = self.seen[index]
                index += 1
                if check(snap):
                    return at, snap
            assert time.monotonic() < deadline, self.latest()
            await asyncio.sleep(0.05)


async def read_stream(url: str, token: str, into: Snapshots) -> None:
    """Until cancelled: every snapshot of ``url``'s ``/events`` into ``into``."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = ClientTimeout(total=None, sock_connect=5)
    async with (
        ClientSession(timeout=timeout) as http,
        http.get(f"{url}/events", headers=headers) as response,
    ):
        assert response.status == 200
        event = None
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "snapshot":
                into.seen.append((time.monotonic(), json.loads(line.removeprefix("data: "))))


@contextlib.asynccontextmanager
async def streaming(url: str, token: str) -> Any:
    snapshots = Snapshots()
    reader = asyncio.create_task(read_stream(url, token, snapshots))
    try:
        yield snapshots
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def load_process(state: Path, *argv: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "LBDEMO_STATE": str(state)}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lbdemo",
        "load",
        *argv,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(process: asyncio.subprocess.Process, timeout_s: float = 120) -> tuple[str, str]:
    """Its output once it exited (killed if it outlives ``timeout_s``)."""
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    return out.decode(), err.decode()
