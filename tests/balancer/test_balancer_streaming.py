"""Bodies stream in bounded memory, chunked both ways; pipelined requests are answered in order."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.balancer.fakes import BalancerFactory, FakeReplica
from tests.balancer.rawhttp import RawClient, build_request

MB = 1024 * 1024


async def test_pipelined_requests_are_answered_in_order_round_robin(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas)
    client = await RawClient.connect(balancer.port)
    try:
        burst = b"".join(build_request("GET", f"/p{i}") for i in range(9))
        burst += build_request("POST", "/p9", body=b"0123456789")
        await client.send(burst)
        responses = await client.read_responses(10)
    finally:
        await client.close()
    assert [r.json()["path"] for r in responses] == [f"/p{i}" for i in range(10)]
    assert [r.header("X-Replica") for r in responses] == ["r1", "r2", "r3"] * 3 + ["r1"]
    assert responses[-1].json()["body_len"] == 10


async def test_chunked_request_body_reaches_replica_whole(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1])
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for size in (1, 100, 70000):
            await client.send(b"%x\r\n" % size + b"c" * size + b"\r\n")
            await asyncio.sleep(0.01)
        await client.send(b"0\r\n\r\n")
        response = await client.read_response()
    finally:
        await client.close()
    assert response.status == 200
    assert response.json() == {"received": 70101, "chunked": True}


async def test_chunked_response_is_passed_on_chunked(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1])
    client = await RawClient.connect(balancer.port)
    try:
        response = await client.request("GET", "/big?n=300000&chunked=1")
        after = await client.request("GET", "/after")
    finally:
        await client.close()
    assert response.status == 200 and response.chunked
    assert response.body == b"x" * 300000
    assert after.status == 200


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


async def _upload(port: int, size: int) -> dict[str, object]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"PUT /upload?slow=1 HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % size)
        block = b"u" * (256 * 1024)
        sent = 0
        while sent < size:
            writer.write(block)
            await writer.drain()
            sent += len(block)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        result: dict[str, object] = json.loads(await reader.readexactly(length))
        return result
    finally:
        writer.close()


async def _download(port: int, size: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /big?n=%d HTTP/1.1\r\nHost: t\r\n\r\n" % size)
        await reader.readuntil(b"\r\n\r\n")
        got = 0
        while got < size:
            # A slow reader: the balancer must hold the replica back, not buffer for us.
            data = await reader.read(256 * 1024)
            if not data:
                break
            got += len(data)
            await asyncio.sleep(0.002)
        return got
    finally:
        writer.close()


async def test_50mb_bodies_stream_through_without_growing_balancer_memory(
    replicas: list[FakeReplica],
) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lbdemo.balancer",
            "--health-interval",
            "0",
            "--upstream",
            f"r1=http://127.0.0.1:{replicas[0].port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
        port = int(json.loads(line)["url"].rsplit(":", 1)[1])
        await _upload(port, 1 * MB)  # warm up: pools, buffers, imports
        before = _peak_rss_kib(proc.pid)
        uploaded = await asyncio.wait_for(_upload(port, 50 * MB), 60)
        downloaded = await asyncio.wait_for(_download(port, 50 * MB), 60)
        grown_mib = (_peak_rss_kib(proc.pid) - before) / 1024
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
    assert uploaded["received"] == 50 * MB
    assert downloaded == 50 * MB
    assert grown_mib < 10, f"balancer peak RSS grew by {grown_mib:.1f} MiB"
