"""``python -m lbdemo.balancer`` as the supervisor runs it: ready line, SIGTERM, exit 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import aiohttp

from tests.balancer.fakes import FakeReplica
from tests.balancer.rawhttp import RawClient


def _spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lbdemo.balancer", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


async def _ready_line(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
    assert line, proc.stderr.read() if proc.stderr else ""
    ready: dict[str, object] = json.loads(line)
    return ready


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)


async def test_process_prints_ready_line_serves_and_exits_0_on_sigterm(
    replicas: list[FakeReplica],
) -> None:
    proc = _spawn(
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        f"r1=http://127.0.0.1:{replicas[0].port}",
        "--upstream",
        f"r2=http://127.0.0.1:{replicas[1].port}",
        "--admin",
        "127.0.0.1:0",
        env={"LBDEMO_ADMIN_TOKEN": "from-env"},
    )
    try:
        ready = await _ready_line(proc)
        assert ready["event"] == "ready" and ready["pid"] == proc.pid
        assert "admin_token" not in ready
        port = int(str(ready["url"]).rsplit(":", 1)[1])
        client = await RawClient.connect(port)
        try:
            served = [(await client.request()).header("X-Replica") for _ in range(2)]
        finally:
            await client.close()
        assert served == ["r1", "r2"]
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{ready['admin_url']}/replicas", headers={"Authorization": "Bearer from-env"}
            ) as resp,
        ):
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 10) == 0
    finally:
        _stop(proc)


async def test_generated_token_is_printed_once_in_ready_line_and_stderr() -> None:
    proc = _spawn("--admin", "127.0.0.1:0", "--no-uvloop")  # asyncio's own loop works too
    try:
        ready = await _ready_line(proc)
        token = ready["admin_token"]
        assert isinstance(token, str) and len(token) >= 16
        proc.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(proc.wait, 10) == 0
        assert proc.stderr is not None
        assert token in proc.stderr.read()
    finally:
        _stop(proc)


async def test_bad_upstream_is_one_line_error_status_2() -> None:
    proc = _spawn("--upstream", "r1=ftp://x")
    try:
        _, err = await asyncio.to_thread(proc.communicate, None, 20)
        assert proc.returncode == 2
        assert err.count("\n") == 1 and "Traceback" not in err
    finally:
        _stop(proc)
