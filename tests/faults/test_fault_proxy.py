"""The fault proxy on real sockets: it forwards, delays and resets as toxiproxy would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from lbdemo.faults.proxy import FaultProxy
from tests.utils import refused_port


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest_asyncio.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proxy = await FaultProxy("127.0.0.1", port).start()
    try:
        yield proxy
    finally:
        await proxy.close()
        server.close()
        await server.wait_closed()


async def round_trip(proxy: FaultProxy, payload: bytes = b"ping") -> tuple[bytes, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        began = time.monotonic()
        writer.write(payload)
        await writer.drain()
        data = await asyncio.wait_for(reader.readexactly(len(payload)), 5)
        return data, time.monotonic() - began
    finally:
        writer.close()


async def test_the_proxy_forwards_bytes_untouched_when_healthy(proxy: FaultProxy) -> None:
    data, took = await round_trip(proxy, b"hello through the proxy")
    assert data == b"hello through the proxy"
    assert took < 0.2
    assert proxy.connections == 1 and proxy.resets == 0


async def test_latency_delays_the_answer_and_heal_removes_it(proxy: FaultProxy) -> None:
    proxy.latency(0.3)
    data, took = await round_trip(proxy)
    assert data == b"ping" and took >= 0.3
    proxy.heal()
    _, took = await round_trip(proxy)
    assert took < 0.2


async def test_reset_cuts_open_connections_and_refuses_new_ones_with_rst(
    proxy: FaultProxy,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"x")
    assert await asyncio.wait_for(reader.readexactly(1), 5) == b"x"
    proxy.reset()
    with pytest.raises(ConnectionResetError):
        # the open connection was reset: reading (or writing) fails, not a clean EOF
        got = await asyncio.wait_for(reader.read(1), 5)
        writer.write(b"y")
        await writer.drain()
        raise AssertionError(f"read {got!r} from a reset connection")
    writer.close()
    with pytest.raises(ConnectionResetError):
        await round_trip(proxy)
    assert proxy.resets >= 2
    proxy.heal()
    assert (await round_trip(proxy))[0] == b"ping"


async def test_a_dead_upstream_is_a_reset_connection(proxy: FaultProxy) -> None:
    with refused_port() as port:
        proxy.upstream_port = port
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            await round_trip(proxy)


async def test_close_ends_every_connection_and_the_listener(proxy: FaultProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"x")
    await reader.readexactly(1)
    port = proxy.port
    await proxy.close()
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), 5)
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_upstream_latency_is_a_delay_line_not_a_delay_per_chunk(proxy: FaultProxy) -> None:
    """Steady: a chunk sent 0.15 s after another, through 0.3 s of upstream delay, arrives
    0.3 s after it was sent, not 0.3 s after the first one was forwarded (0.45 s): a stream of
    raft messages on an etcd peer link lags by the delay set, not by more when they queue."""
    proxy.steady = True
    proxy.latency(0.3, direction="upstream")
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        writer.write(b"a")
        await asyncio.sleep(0.15)
        writer.write(b"b")
        sent_b = time.monotonic()
        assert await asyncio.wait_for(reader.readexactly(1), 5) == b"a"
        assert await asyncio.wait_for(reader.readexactly(1), 5) == b"b"
        lag_b = time.monotonic() - sent_b
    finally:
        writer.close()
    assert 0.29 <= lag_b < 0.42, lag_b
    with pytest.raises(ValueError, match="direction"):
        proxy.latency(0.1, direction="sideways")


async def test_round_trip_delays_each_direction_by_half_of_it() -> None:
    """A request crosses one way (RTT/2), its answer the other (RTT/2): a real socket pair,
    the times taken on either side. Lower bounds only: a loaded machine only adds to them."""
    arrived: list[float] = []

    async def stamp_and_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            arrived.append(time.monotonic())
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(stamp_and_echo, "127.0.0.1", 0)
    proxy = await FaultProxy("127.0.0.1", server.sockets[0].getsockname()[1]).start()
    try:
        proxy.round_trip(0.2)
        proxy.heal()  # a distance is not a fault: it stays
        began = time.monotonic()
        data, took = await round_trip(proxy)
        back = time.monotonic()
        assert data == b"ping"
        assert arrived[0] - began >= 0.099  # there: half the round trip
        assert took >= 0.199  # and back: the whole of it
        # the way back alone, from the echo to its arrival: not ``took`` less the way there,
        # whose start (before the connection was made) is not ``took``'s
        assert back - arrived[0] >= 0.099
    finally:
        await proxy.close()
        server.close()
        await server.wait_closed()


async def test_a_delayed_link_is_pipelined_not_one_chunk_at_a_time(proxy: FaultProxy) -> None:
    """Ten chunks sent 10 ms apart through a 0.4 s link: each arrives 0.2 s after it was sent,
    so all ten within about 0.3 s (delayed one after another they would take 2 s one way)."""
    proxy.round_trip(0.4)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        began = time.monotonic()
        for n in range(10):
            writer.write(bytes([n]))
            await writer.drain()
            await asyncio.sleep(0.01)  # separate chunks, not one coalesced read
        data = await asyncio.wait_for(reader.readexactly(10), 10)
        took = time.monotonic() - began
    finally:
        writer.close()
    assert data == bytes(range(10))  # in order
    assert took >= 0.4
    assert took < 1.5, f"chunks delayed one after another: {took:.2f} s"


def test_a_negative_round_trip_is_refused() -> None:
    with pytest.raises(ValueError, match="round trip"):
        FaultProxy("127.0.0.1", 1).round_trip(-0.1)
