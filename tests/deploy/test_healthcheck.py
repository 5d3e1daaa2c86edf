"""``python -m lbdemo.docker.healthcheck``, what compose.yaml and the Kubernetes probes run inside
a container, here against a real PostgreSQL and a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from lbdemo.docker.healthcheck import main
from lbdemo.store.embedded import ServerInfo


@contextlib.asynccontextmanager
async def serving_healthz(status: int) -> AsyncIterator[int]:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok" if status == 200 else "down"}, status=status)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def check(*argv: str) -> int:
    # in a thread: the check runs its own event loop, as it does in a container
    return await asyncio.to_thread(main, list(argv))


@pytest.mark.parametrize("what", ["replica", "balancer"])
async def test_an_http_server_is_healthy_only_while_its_healthz_answers_200(
    what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving_healthz(200) as port:
        assert await check(what, "--port", str(port)) == 0
    async with serving_healthz(503) as port:
        assert await check(what, "--port", str(port)) == 1
    assert "answered HTTP 503" in capsys.readouterr().err
    assert await check(what, "--port", str(port)) == 1  # nobody listens any more


async def test_a_store_is_healthy_only_when_the_password_logs_in(
    pg_server: ServerInfo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = str(pg_server.port)
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    assert await check("store", "--port", port) == 0
    monkeypatch.setenv("PGPASSWORD", "wrong")
    assert await check("store", "--port", port) == 1
    err = capsys.readouterr().err
    assert err.startswith("store: unhealthy: ") and err.count("\n") == 1
    assert pg_server.password not in err


@pytest.mark.parametrize("argv", [[], ["proxy"], ["store", "--port", "70000"]])
def test_a_command_line_it_does_not_understand_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
