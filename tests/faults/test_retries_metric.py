"""The balancer counts its retries in /metrics: what the faults report reads before and after
each fault."""

from __future__ import annotations

import dataclasses

from aiohttp import ClientSession, web

from lbdemo.balancer import Balancer, BalancerConfig, Upstream
from lbdemo.faults.balancer_metrics import parse_retries
from tests.utils import refused_port


async def test_a_get_retried_after_a_refused_connect_is_counted_in_metrics() -> None:
    async def ok(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/x", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    live_port = runner.addresses[0][1]
    with refused_port() as dead_port:
        ups = (Upstream("dead", "127.0.0.1", dead_port), Upstream("live", "127.0.0.1", live_port))
        config = dataclasses.replace(BalancerConfig(), upstreams=ups, health_interval=0)
        balancer = Balancer(config)
        await balancer.start()
        try:
            assert parse_retries(balancer.metrics.render().decode()) == 0
            async with ClientSession() as http:
                statuses = []
                for _ in range(2):  # round robin: one of the two starts on the dead replica
                    async with http.get(f"{balancer.url}/x") as r:
                        statuses.append(r.status)
            assert statuses == [200, 200]
            assert balancer.metrics.retries == 1
            assert parse_retries(balancer.metrics.render().decode()) == 1
        finally:
            await balancer.stop()
            await runner.cleanup()


def test_metrics_without_the_counter_read_as_none() -> None:
    assert parse_retries("# HELP other x\nother_total 3.0\n") is None
