"""A token that is not UTF-8 is a wrong token (issue 21, item 7): 401 with a JSON body, and no
traceback in the log, on every port that checks a bearer token (the balancer's admin API, the
daemon API, the dashboard)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from lbdemo.balancer.admin import create_admin_app
from lbdemo.dashboard.app import create_dashboard_app
from lbdemo.runtime.api import create_control_app
from tests.utils import raw_exchange, serve_app

# port: (the app with token "secret", a path behind the token, the JSON key of its error)
PORTS: dict[str, tuple[Callable[[], web.Application], str, str]] = {
    "admin": (lambda: create_admin_app(object(), "secret"), "/replicas", "error"),
    "daemon": (lambda: create_control_app(object(), "secret"), "/containers", "message"),
    "dashboard": (
        lambda: create_dashboard_app(SimpleNamespace(token="secret")),
        "/events",
        "error",
    ),
}


@pytest.mark.parametrize("name", PORTS)
async def test_a_non_utf8_token_is_401_json_without_a_traceback(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_app, path, error_key = PORTS[name]
    request = (
        f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode()
        + b"Authorization: Bearer \xff\xfe\r\nConnection: close\r\n\r\n"
    )
    runner, port = await serve_app(make_app())
    try:
        with caplog.at_level(logging.DEBUG):
            answer: Any = await raw_exchange(port, request)
    finally:
        await runner.cleanup()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), answer
    assert error_key in json.loads(body)
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
