"""The dashboard's server on a real socket: the token check, the SSE stream, JSON errors.

No stack here (the page works without one, between the runs of ``lbdemo demo``); the stack-facing
parts are in test_live_stack.py and the browser test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import ClientResponse, ClientSession, ClientTimeout

from lbdemo.dashboard import Dashboard
from lbdemo.dashboard.counts import LoadCounts
from lbdemo.dashboard.sse import QUEUE_LIMIT, Broadcaster, Message


@pytest_asyncio.fixture
async def dashboard() -> AsyncIterator[Dashboard]:
    board = Dashboard(interval_s=0.1)
    await board.start()
    try:
        yield board
    finally:
        await board.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def read_messages(response: ClientResponse, count: int) -> list[tuple[str, Any]]:
    """The next ``count`` SSE messages, parsed as a browser would (comment lines skipped)."""
    messages: list[tuple[str, Any]] = []
    kind, data = "message", []
    while len(messages) < count:
        raw = await asyncio.wait_for(response.content.readline(), 5)
        line = raw.decode().rstrip("\n")
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data.append(line.split(":", 1)[1].strip())
        elif line == "" and data:
            messages.append((kind, json.loads("\n".join(data))))
            kind, data = "message", []
    return messages


async def test_the_page_is_public_and_carries_no_token(dashboard: Dashboard) -> None:
    async with ClientSession() as http, http.get(f"{dashboard.url}/") as page:
        assert page.status == 200
        assert page.content_type == "text/html"
        body = await page.text()
        assert dashboard.token not in body
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        async with http.get(f"{dashboard.url}/dashboard.js") as script:
            assert script.status == 200 and dashboard.token not in await script.text()
    assert dashboard.link == f"{dashboard.url}/#token={dashboard.token}"
    assert dashboard.url is not None and dashboard.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    "path,method",
    [
        ("/events", "GET"),
        ("/api/replicas", "POST"),
        ("/api/replicas/lbdemo-r1/kill", "POST"),
        ("/api/upgrade", "POST"),
        ("/api/lookup/apple", "GET"),
        ("/nowhere", "GET"),
    ],
)
async def test_a_missing_or_wrong_token_is_401_json(
    dashboard: Dashboard, path: str, method: str
) -> None:
    wrong = [
        {},
        bearer("not-the-token"),
        bearer(dashboard.token + "x"),
        {"Authorization": dashboard.token},
    ]
    async with ClientSession() as http:
        for headers in wrong:
            async with http.request(method, dashboard.url + path, headers=headers) as r:
                assert r.status == 401, (path, headers)
                assert r.content_type == "application/json"
                assert "token" in (await r.json())["error"]


async def test_errors_behind_the_token_are_json(dashboard: Dashboard) -> None:
    async with ClientSession(headers=bearer(dashboard.token)) as http:
        async with http.get(f"{dashboard.url}/nowhere") as r:
            assert r.status == 404 and "error" in await r.json()
        async with http.get(f"{dashboard.url}/api/lookup/..%2Fetc") as r:
            assert r.status in (400, 404) and "error" in await r.json()
        async with http.get(f"{dashboard.url}/api/lookup/apple") as r:  # no stack watched
            assert r.status == 503
            assert (await r.json())["error"] == "no stack is running right now"
        async with http.post(f"{dashboard.url}/api/replicas/lbdemo-r1/kill") as r:
            assert r.status == 503


async def test_the_stream_sends_the_backlog_the_latest_snapshot_then_live_messages(
    dashboard: Dashboard,
) -> None:
    dashboard.say("first line")
    dashboard.broadcaster.publish(Message("snapshot", {"n": 1}))
    dashboard.broadcaster.publish(Message("snapshot", {"n": 2}))
    timeout = ClientTimeout(total=10)
    async with (
        ClientSession(headers=bearer(dashboard.token), timeout=timeout) as http,
        http.get(f"{dashboard.url}/events") as response,
    ):
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        first = await read_messages(response, 2)
        assert first[0][0] == "log" and first[0][1]["line"] == "first line"
        assert first[1] == ("snapshot", {"n": 2})  # only the latest one, not history
        dashboard.say("a kill, live")
        dashboard.broadcaster.publish(Message("snapshot", {"n": 3}))
        assert [m[1].get("line", m[1].get("n")) for m in await read_messages(response, 2)] == [
            "a kill, live",
            3,
        ]
        assert dashboard.broadcaster.subscribers == 1
    await asyncio.sleep(0.2)  # the server notices the page went away at its next write
    dashboard.say("nobody listening")
    for _ in range(50):
        if dashboard.broadcaster.subscribers == 0:
            break
        await asyncio.sleep(0.05)
    assert dashboard.broadcaster.subscribers == 0


async def test_a_slow_page_loses_old_snapshots_never_log_lines() -> None:
    broadcaster = Broadcaster()
    slow = broadcaster.subscribe()
    for n in range(QUEUE_LIMIT * 3):
        broadcaster.publish(Message("snapshot", {"n": n}))
        if n % 10 == 0:
            broadcaster.publish(Message("log", {"line": f"log {n}"}))
    received = []
    while (message := await slow.get(0.01)) is not None:
        received.append(message)
    logs = [m.data["line"] for m in received if m.event == "log"]
    assert logs == [f"log {n}" for n in range(0, QUEUE_LIMIT * 3, 10)]
    snapshots = [m.data["n"] for m in received if m.event == "snapshot"]
    assert snapshots[-1] == QUEUE_LIMIT * 3 - 1 and len(snapshots) < QUEUE_LIMIT


def test_progress_lines_become_counts_and_other_lines_change_nothing() -> None:
    counts = LoadCounts()
    assert not counts.observe("summary: {}")
    assert not counts.observe("progress: elapsed=x ops=1")
    assert counts.observe("progress: elapsed=2.0s ops=120 ops_per_s=60 failures=0 stale_reads=7")
    assert counts.describe() == {
        "ops": 120,
        "reads": None,
        "failures": 0,
        "stale_reads": 7,
        "elapsed_s": 2.0,
    }
    assert not counts.observe("progress: elapsed=3.0s ops=lots stale_reads=9")
    assert counts.stale_reads == 7


async def test_a_failing_sample_is_said_once_and_sampling_goes_on(dashboard: Dashboard) -> None:
    calls = 0

    class Flaky:
        async def sample(self) -> dict[str, Any]:
            nonlocal calls
            calls += 1
            if calls <= 3:
                raise ValueError("garbled metrics")
            return {"n": calls}

        async def close(self) -> None:
            pass

    producer = asyncio.create_task(dashboard._produce(Flaky()))  # type: ignore[arg-type]
    try:
        for _ in range(100):
            if dashboard.broadcaster.latest is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
    assert dashboard.broadcaster.latest is not None
    assert dashboard.broadcaster.latest.data["n"] == 4
    said = [m.data["line"] for m in dashboard.broadcaster.log]
    assert said == ["dashboard: a sample failed (ValueError: garbled metrics); retrying"]
