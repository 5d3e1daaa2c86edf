"""Every aiohttp port of lbdemo under one listener policy (issue 21 item 1).

The admin API, the daemon API, the dashboard and a replica, each served as lbdemo serves it on
a real socket: heads held half-sent get 408 at the head deadline, a silent connection is
closed without a word, connections over the per-address and per-process caps get 503 at once,
and a client from another address is served all the while. Before the policy, aiohttp kept a
half-sent head for its keep-alive timeout (3630 s) and had no cap at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web

from lbdemo.balancer import Balancer, BalancerConfig
from lbdemo.dashboard.server import Dashboard
from lbdemo.process.listener import ConnectionCounts, GuardedAppRunner, ListenerPolicy
from lbdemo.replica.app import ReplicaSettings, create_app, create_runner, replica_policy
from lbdemo.runtime.api import ControlServer
from lbdemo.store.base import MemoryStore

HEAD_TIMEOUT = 0.6
HALF_HEAD = b"GET /x HTTP/1.1\r\nHost: t\r\nAuthorization: Bear"

Stop = Callable[[], Awaitable[None]]
TOKENS: dict[int, str] = {}  # port -> bearer token, where one is needed


async def _admin(policy: ListenerPolicy) -> tuple[int, Stop]:
    config = BalancerConfig(
        admin_host="127.0.0.1",
        admin_token="t",
        health_interval=0,
        head_timeout=policy.head_timeout,
    )
    balancer = Balancer(config)
    await balancer.start()
    assert balancer.admin_port is not None and balancer._admin is not None
    # The admin API's caps are the control ports' defaults; the test's, for a quick run.
    cast(GuardedAppRunner, balancer._admin).server.policy = policy  # type: ignore[union-attr]
    TOKENS[balancer.admin_port] = "t"
    return balancer.admin_port, balancer.stop


async def _daemon(policy: ListenerPolicy, tmp: Path) -> tuple[int, Stop]:
    control = ControlServer(cast(Any, object()), tmp, policy)
    await control.start()
    assert control.url is not None
    port = int(control.url.rsplit(":", 1)[1])
    TOKENS[port] = control.token
    return port, control.stop


async def _dashboard(policy: ListenerPolicy) -> tuple[int, Stop]:
    dashboard = Dashboard(policy=policy)
    await dashboard.start()
    assert dashboard.url is not None
    return int(dashboard.url.rsplit(":", 1)[1]), dashboard.stop


async def _replica(policy: ListenerPolicy) -> tuple[int, Stop]:
    headers = replica_policy("r1").headers
    policy = ListenerPolicy(**{**policy.__dict__, "headers": headers})
    runner = create_runner(create_app(ReplicaSettings("r1"), MemoryStore()), policy=policy)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return int(runner.addresses[0][1]), runner.cleanup


PORTS = ["admin", "daemon", "dashboard", "replica"]


@contextlib.asynccontextmanager
async def _port(name: str, policy: ListenerPolicy, tmp: Path) -> AsyncIterator[int]:
    if name == "daemon":
        port, stop = await _daemon(policy, tmp)
    else:
        port, stop = await {"admin": _admin, "dashboard": _dashboard, "replica": _replica}[name](
            policy
        )
    try:
        yield port
    finally:
        await stop()


async def _open(port: int, source: str, send: bytes) -> tuple[asyncio.StreamReader, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    if send:
        writer.write(send)
        await writer.drain()
    return reader, writer


async def _answer(reader: asyncio.StreamReader, timeout: float) -> tuple[int, dict[str, Any], str]:
    """(status, JSON body, raw head) of the one answer before the peer closes; 0 if none."""
    data = await asyncio.wait_for(reader.read(), timeout)
    if not data:
        return 0, {}, ""
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body), head.decode("latin-1")


async def _get(port: int, source: str, path: str = "/healthz") -> int:
    reader, writer = await _open(port, source, f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    try:
        line = await asyncio.wait_for(reader.readline(), 5)
        return int(line.split()[1])
    finally:
        writer.close()


@pytest.fixture(autouse=True)
def _own_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh per-process count for each test: other tests' servers share this process."""
    counts = ConnectionCounts()
    monkeypatch.setattr("lbdemo.process.listener.PROCESS_COUNTS", counts)
    for default in (GuardedAppRunner.__init__.__kwdefaults__,):
        monkeypatch.setitem(default, "counts", counts)


@pytest.mark.parametrize("name", PORTS)
async def test_half_sent_heads_get_408_at_the_deadline_and_caps_answer_503(
    name: str, tmp_path: Path
) -> None:
    policy = ListenerPolicy(head_timeout=HEAD_TIMEOUT, max_connections=40, max_per_client=12)
    async with _port(name, policy, tmp_path) as port:
        began = time.monotonic()
        held = [await _open(port, "127.0.0.1", HALF_HEAD) for _ in range(15)]
        silent = await _open(port, "127.0.0.3", b"")
        # 12 are admitted from 127.0.0.1; the 3 over that share were answered at once.
        over = []
        for reader, _ in held[12:]:
            over.append(await _answer(reader, 0.5))
        assert [status for status, _, _ in over] == [503] * 3
        assert all("from 127.0.0.1" in body["error"] for _, body, _ in over)
        assert all("Connection: close" in head for _, _, head in over)
        if name == "replica":
            assert all("X-Replica: r1" in head for _, _, head in over)
        # Another address is served meanwhile (401 where a token is needed).
        assert await _get(port, "127.0.0.2") in (200, 401)
        # The held ones: 408 at the head deadline, then closed; the silent one just closed.
        answers = [await _answer(reader, 3) for reader, _ in held[:12]]
        elapsed = time.monotonic() - began
        assert [status for status, _, _ in answers] == [408] * 12
        assert "head" in answers[0][1]["error"]
        assert (await _answer(silent[0], 3))[0] == 0
        assert HEAD_TIMEOUT * 0.9 <= elapsed < HEAD_TIMEOUT + 2.5
        for _, writer in [*held, silent]:
            writer.close()
        # Slots free again once they closed.
        assert await _get(port, "127.0.0.1") in (200, 401)


@pytest.mark.parametrize("name", ["admin", "replica"])
async def test_the_per_process_cap_holds_across_addresses(name: str, tmp_path: Path) -> None:
    policy = ListenerPolicy(head_timeout=5, max_connections=10, max_per_client=4)
    async with _port(name, policy, tmp_path) as port:
        held = [await _open(port, f"127.0.0.{10 + i // 4}", HALF_HEAD) for i in range(10)]
        await asyncio.sleep(0.1)
        reader, writer = await _open(port, "127.0.0.99", b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        status, body, _ = await _answer(reader, 2)
        writer.close()
        assert status == 503 and body["error"] == "too many connections (limit 10)"
        for _, w in held:
            w.close()


async def test_a_head_begun_after_a_request_has_its_own_deadline(tmp_path: Path) -> None:
    """The second head of a keep-alive connection is timed from its first byte."""
    policy = ListenerPolicy(head_timeout=HEAD_TIMEOUT, keepalive_timeout=30)
    async with _port("replica", policy, tmp_path) as port:
        reader, writer = await _open(port, "127.0.0.1", b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        line = await asyncio.wait_for(reader.readline(), 5)
        assert b" 200 " in line or b" 503 " in line
        await asyncio.sleep(HEAD_TIMEOUT * 1.5)  # idle: the keep-alive timeout's business
        writer.write(b"GET /healthz HTTP/1.1\r\nHo")
        began = time.monotonic()
        rest = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert b"HTTP/1.1 408 " in rest
        assert HEAD_TIMEOUT * 0.9 <= time.monotonic() - began < HEAD_TIMEOUT + 2


@pytest.mark.parametrize(
    ("name", "path"),
    [("admin", "/replicas"), ("daemon", "/containers"), ("replica", "/products/p1")],
)
async def test_a_body_not_whole_in_time_gets_408(name: str, path: str, tmp_path: Path) -> None:
    """Every handler that reads a body reads it whole, within the port's body deadline."""
    policy = ListenerPolicy(body_timeout=HEAD_TIMEOUT, lingering_time=0.5)
    async with _port(name, policy, tmp_path) as port:
        token = TOKENS.get(port, "")
        method = "PUT" if name == "replica" else "POST"
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 40\r\n\r\n"
        )
        reader, writer = await _open(port, "127.0.0.1", head.encode() + b'{"name": ')
        began = time.monotonic()
        line = await asyncio.wait_for(reader.readline(), 5)
        elapsed = time.monotonic() - began
        writer.close()
        assert b" 408 " in line
        assert HEAD_TIMEOUT * 0.9 <= elapsed < HEAD_TIMEOUT + 2


@pytest.mark.parametrize(("name", "path"), [("admin", "/replicas"), ("daemon", "/containers")])
async def test_a_json_body_in_pieces_is_read_whole(name: str, path: str, tmp_path: Path) -> None:
    """The control APIs judge the whole body, however it is cut (and bad JSON is a 400)."""
    async with _port(name, ListenerPolicy(), tmp_path) as port:
        token = TOKENS[port]
        for body, want in ((b'{"name": "r9", "url": "http://127.0.0.1:9"}', 201), (b"{\xff", 400)):
            if name == "daemon":
                body, want = (b'{"image": 5}', 400) if want == 201 else (body, want)
            head = (
                f"POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            reader, writer = await _open(port, "127.0.0.1", head + body[:3])
            await asyncio.sleep(0.05)
            writer.write(body[3:])
            line = await asyncio.wait_for(reader.readline(), 5)
            writer.close()
            assert int(line.split()[1]) == want, (body, line)


@pytest.mark.parametrize("name", PORTS)
async def test_a_head_trickled_a_byte_at_a_time_gets_408_at_the_deadline(
    name: str, tmp_path: Path
) -> None:
    """Bytes that keep coming do not move the head deadline (an idle timer alone would)."""
    policy = ListenerPolicy(head_timeout=HEAD_TIMEOUT, keepalive_timeout=30)
    async with _port(name, policy, tmp_path) as port:
        reader, writer = await _open(port, "127.0.0.1", b"G")
        began = time.monotonic()

        async def trickle() -> None:
            for byte in b"ET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"x" * 1000:
                writer.write(bytes([byte]))
                await asyncio.sleep(0.05)

        sender = asyncio.create_task(trickle())
        try:
            status, body, _ = await _answer(reader, 5)
        finally:
            sender.cancel()
            writer.close()
        assert status == 408 and "head" in body["error"]
        assert HEAD_TIMEOUT * 0.9 <= time.monotonic() - began < HEAD_TIMEOUT + 2


@pytest.mark.parametrize("name", PORTS)
async def test_a_408_survives_bytes_the_client_sends_after_the_deadline(
    name: str, tmp_path: Path
) -> None:
    """A slow client does not stop sending because the server gave up: closing on its unread
    bytes would reset the connection, and a reset destroys the 408 before the client reads it
    (seen as ConnectionResetError under load). The server lingers: it reads and drops what
    still comes, and closes once the client does or the linger ends."""
    policy = ListenerPolicy(head_timeout=HEAD_TIMEOUT, keepalive_timeout=30)
    async with _port(name, policy, tmp_path) as port:
        reader, writer = await _open(port, "127.0.0.1", HALF_HEAD)
        # Bytes every few milliseconds across the deadline: some arrive while the server
        # writes its 408, and more after it.
        ends = time.monotonic() + HEAD_TIMEOUT + 0.5
        with contextlib.suppress(ConnectionError):
            while time.monotonic() < ends:
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.002)
        status, _, _ = await _answer(reader, 5)
        writer.close()
        assert status == 408
