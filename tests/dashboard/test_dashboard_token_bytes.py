"""A token that is not UTF-8 is a wrong token (issue 21, item 7): 401 with a JSON body, and no
traceback in the log, on the dashboard's port."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest

from lbdemo.dashboard.app import create_dashboard_app
from tests.utils import raw_exchange, serve_app

NOT_UTF8 = (
    b"GET /events HTTP/1.1\r\nHost: x\r\n"
    b"Authorization: Bearer \xff\xfe\r\nConnection: close\r\n\r\n"
)


async def test_a_non_utf8_token_is_401_json_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dashboard = SimpleNamespace(token="secret")
    runner, port = await serve_app(create_dashboard_app(dashboard))  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.DEBUG):
            answer = await raw_exchange(port, NOT_UTF8)
    finally:
        await runner.cleanup()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), answer
    assert "error" in json.loads(body)
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
