"""The ready line: what a server prints is what every reader takes, and nothing else is taken."""

from __future__ import annotations

import json
import os

import pytest

from lbdemo.process.ready import announce_ready, parse_ready_line


def test_the_announced_line_is_read_back_with_its_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    announce_ready(url="http://127.0.0.1:1", admin_url="http://127.0.0.1:2")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.endswith("\n")
    assert parse_ready_line(out.encode()) == {
        "event": "ready",
        "pid": os.getpid(),
        "url": "http://127.0.0.1:1",
        "admin_url": "http://127.0.0.1:2",
    }
    assert parse_ready_line(out) == parse_ready_line(out.encode())


@pytest.mark.parametrize(
    "line",
    [
        b"starting",
        b"{oops",
        b"",
        b'["ready"]',
        b'"ready"',
        b'{"event": "started", "url": "u"}',
        b'{"url": "u"}',
        b'{"event": "ready"\xff}',
        json.dumps({"event": "READY"}).encode(),
    ],
)
def test_any_other_line_is_not_a_ready_line(line: bytes) -> None:
    assert parse_ready_line(line) is None
