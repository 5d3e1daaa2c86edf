"""A client that pipelines and never reads cannot grow the balancer's memory (defect 9).

Measured on a real balancer process (``python -m lbdemo.balancer``) through
/proc/PID/status, in front of in-process fake replicas.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.balancer.fakes import BalancerFactory, FakeReplica
from tests.balancer.rawhttp import RawClient

PIPELINED_BYTES = 5 * 1024 * 1024


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _send_without_reading(port: int, data: bytes, seconds: float) -> int:
    """Write ``data`` and never read; returns how much the kernel took in ``seconds``."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    sent = 0
    deadline = loop.time() + seconds
    try:
        while sent < len(data) and loop.time() < deadline:
            try:
                sent += sock.send(data[sent : sent + 65536])
            except BlockingIOError:
                await asyncio.sleep(0.01)
            except ConnectionError:
                break  # the balancer refused the pipeline and closed: fine too
        await asyncio.sleep(max(0.0, deadline - loop.time()))
    finally:
        sock.close()
    return sent


@pytest.mark.slow
@pytest.mark.parametrize("served_by", ["replicas", "balancer"])
async def test_pipelining_without_reading_does_not_grow_the_balancers_memory(
    replicas: list[FakeReplica], served_by: str
) -> None:
    # "balancer": no replica at all, so every answer is the balancer's own 503; those used to
    # pile up in the client's write buffer while reading went on.
    upstreams = replicas if served_by == "replicas" else []
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lbdemo.balancer",
            "--listen",
            "127.0.0.1:0",
            "--health-interval",
            "0",
            *(f"--upstream=r{i}=http://127.0.0.1:{r.port}" for i, r in enumerate(upstreams)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
        port = int(json.loads(line)["url"].rsplit(":", 1)[1])
        warm = await RawClient.connect(port)  # warm up: code paths, pools, allocator
        try:
            for _ in range(200):
                assert (await warm.request("GET", "/warm")).status in (200, 503)
        finally:
            await warm.close()
        before = _rss_kib(proc.pid)
        request = b"GET /p HTTP/1.1\r\nHost: t\r\n\r\n"
        data = request * (PIPELINED_BYTES // len(request))
        sent = await _send_without_reading(port, data, 1.5)
        growth_mib = (_rss_kib(proc.pid) - before) / 1024
        print(f"pipelined {sent} bytes unread: balancer RSS grew {growth_mib:.1f} MiB")
        assert growth_mib < 8, f"RSS grew {growth_mib:.1f} MiB for {sent} bytes sent"
    finally:
        if proc.poll() is None:  # a graceful stop is not what this test is about
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


async def test_a_pipeline_deeper_than_the_cap_is_answered_then_refused_with_429(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas, max_pipeline=16)
    client = await RawClient.connect(balancer.port)
    try:
        # One write, so one read: all 40 heads reach the parser at once.
        await client.send(b"GET /p HTTP/1.1\r\nHost: t\r\n\r\n" * 40)
        answers = await client.read_responses(17, timeout=5)
        assert await client.closed_by_peer()
    finally:
        await client.close()
    assert [a.status for a in answers] == [200] * 16 + [429]
    assert "pipelined" in answers[-1].json()["error"]


async def test_a_client_that_reads_none_of_its_answers_is_dropped_after_client_timeout(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1], client_timeout=0.3)
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(b"GET /big?n=30000000 HTTP/1.1\r\nHost: t\r\n\r\n")
        for _ in range(100):  # about 2 s: the kernel buffers fill, then nothing moves
            await asyncio.sleep(0.02)
            if not balancer.connections:
                break
        assert not balancer.connections
    finally:
        await client.close()
