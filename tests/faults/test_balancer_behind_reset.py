"""The balancer process in front of a replica whose connections are reset as soon as they are
accepted (the fault proxy's ``reset``): every request gets an answer, and nothing goes
unhandled in the balancer (seen under the faults scenario: a write on a transport closed
between connect and send raised in a task nobody awaited)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio
from aiohttp import web

from lbdemo.faults.proxy import FaultProxy


@pytest_asyncio.fixture
async def resetting_replica() -> AsyncIterator[FaultProxy]:
    async def product(_request: web.Request) -> web.Response:
        return web.json_response({"price": 1, "write_id": "w"}, headers={"X-Replica": "r1"})

    app = web.Application()
    app.router.add_get("/products/{id}", product)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    proxy = await FaultProxy("127.0.0.1", runner.addresses[0][1]).start()
    try:
        yield proxy
    finally:
        await proxy.close()
        await runner.cleanup()


async def test_requests_to_a_replica_that_resets_every_connection_are_answered(
    resetting_replica: FaultProxy,
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lbdemo.balancer", "--listen", "127.0.0.1:0",
         "--upstream", f"r1={resetting_replica.url}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready = json.loads(await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20))
        resetting_replica.reset()
        statuses = []
        timeout = aiohttp.ClientTimeout(total=5)

        async def one(http: aiohttp.ClientSession, n: int) -> None:
            method = "PUT" if n % 2 else "GET"
            async with http.request(method, f"{ready['url']}/products/p", json={"price": 1}) as r:
                statuses.append(r.status)
                assert r.content_type == "application/json"

        # Many at once: the reset must also land while the balancer is busy between its
        # connect and its first write.
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for _ in range(5):
                await asyncio.gather(*(one(http, n) for n in range(40)))
        assert len(statuses) == 200 and set(statuses) <= {502, 503}, statuses
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        _, err = await asyncio.to_thread(proc.communicate, timeout=15)
    assert "Task exception was never retrieved" not in err, err[-1500:]
    assert "Traceback" not in err, err[-1500:]
