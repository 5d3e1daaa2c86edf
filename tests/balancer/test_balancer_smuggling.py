"""Request smuggling through ``Connection`` nominations, tried against real replicas.

The replicas here are the project's own (``lbdemo.replica``) on a real PostgreSQL, behind the
balancer, over 127.0.0.1 sockets. A client naming ``Content-Length`` in ``Connection`` must not
make the balancer forward the body unframed: the balancer ignores nominations of framing
headers and of ``Host`` (documented in docs/balancer.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import web

from lbdemo.balancer import Upstream
from lbdemo.replica.app import ReplicaSettings, create_app
from lbdemo.store.postgres import PostgresStore
from tests.balancer.fakes import BalancerFactory, FakeReplica
from tests.balancer.rawhttp import RawClient


@pytest_asyncio.fixture
async def catalog(store: PostgresStore) -> AsyncIterator[Upstream]:
    """One real catalogue replica on the session's PostgreSQL."""
    runner = web.AppRunner(
        create_app(ReplicaSettings("r1"), store), access_log=None, handle_signals=False
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield Upstream("r1", "127.0.0.1", int(runner.addresses[0][1]))
    finally:
        await runner.cleanup()


def _put(path: str, body: bytes, *extra: bytes) -> bytes:
    return b"PUT %s HTTP/1.1\r\nHost: t\r\n%sContent-Length: %d\r\n\r\n%s" % (
        path.encode(),
        b"".join(extra),
        len(body),
        body,
    )


async def test_connection_naming_content_length_cannot_smuggle_a_stored_put(
    catalog: Upstream, make_balancer: BalancerFactory, store: PostgresStore
) -> None:
    balancer = await make_balancer((catalog,))
    smuggled = _put("/products/smuggled", b'{"price": 666, "write_id": "evil"}')
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(_put("/products/decoy", smuggled, b"Connection: content-length\r\n"))
        answer = await client.read_response()
    finally:
        await client.close()
    # The replica read the whole smuggled text as the decoy's body: not JSON, refused.
    assert answer.status == 400 and answer.header("X-Replica") == "r1"
    assert await store.get("smuggled") is None
    assert await store.get("decoy") is None


async def test_connection_naming_content_length_cannot_swallow_the_next_clients_request(
    catalog: Upstream, make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer((catalog,))
    # A smuggled PUT declaring 40 body bytes and sending none: unframed, it would wait on the
    # upstream connection for the next client's request and answer that client instead.
    smuggled = b"PUT /products/trap HTTP/1.1\r\nHost: t\r\nContent-Length: 40\r\n\r\n"
    for attempt in range(5):
        attacker = await RawClient.connect(balancer.port)
        victim = await RawClient.connect(balancer.port)
        try:
            await attacker.send(
                _put(f"/products/a{attempt}", smuggled, b"Connection: Content-Length\r\n")
            )
            assert (await attacker.read_response()).status == 400
            answer = await victim.request("GET", "/healthz", timeout=5)
        finally:
            await attacker.close()
            await victim.close()
        assert answer.status == 200, answer.body
        assert answer.json()["status"] == "ok"


async def test_connection_naming_transfer_encoding_keeps_the_chunked_framing(
    catalog: Upstream, make_balancer: BalancerFactory, store: PostgresStore
) -> None:
    balancer = await make_balancer((catalog,))
    body = b'{"price": 7, "write_id": "te-1"}'
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(
            b"PUT /products/chunky HTTP/1.1\r\nHost: t\r\nConnection: transfer-encoding\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        )
        answer = await client.read_response()
        again = await client.request("GET", "/products/chunky")
    finally:
        await client.close()
    assert answer.status == 200, answer.body
    assert again.json()["price"] == 7


async def test_connection_naming_host_still_forwards_the_clients_host(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    balancer = await make_balancer(replicas[:1])
    client = await RawClient.connect(balancer.port)
    try:
        answer = await client.request("GET", "/x", {"Connection": "host, x-gone", "X-Gone": "1"})
    finally:
        await client.close()
    seen = {k.lower(): v for k, v in answer.json()["headers"].items()}
    assert seen["host"] == "test"
    assert "x-gone" not in seen  # other nominations are still honoured


async def test_every_connection_header_nominates_not_only_the_last(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    # Two Connection headers are one list (RFC 9110 §5.3): a later one must not make the
    # balancer forget what an earlier one named, or that hop-by-hop header reaches the replica.
    balancer = await make_balancer(replicas[:1])
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(
            b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: x-gone\r\nConnection: keep-alive\r\n"
            b"Proxy-Connection: keep-alive\r\nX-Gone: 1\r\n\r\n"
        )
        answer = await client.read_response()
    finally:
        await client.close()
    assert answer.status == 200, answer.body
    seen = {k.lower() for k in answer.json()["headers"]}
    assert "x-gone" not in seen


async def test_two_host_headers_are_refused_with_400_and_nothing_is_forwarded(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    # Found by the framing fuzzer: a replica (and h11) may pick either Host; RFC 9112 §3.2
    # says answer 400. The first head is plain (the fast path), the second is not.
    balancer = await make_balancer(replicas[:1])
    heads = [
        b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
        b"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nHost: b\r\n\r\n",
    ]
    for head in heads:
        client = await RawClient.connect(balancer.port)
        try:
            await client.send(head)
            answer = await client.read_response()
        finally:
            await client.close()
        assert answer.status == 400, head
        assert "Host" in answer.json()["error"]
    assert replicas[0].arrivals == []


async def test_transfer_codings_other_than_plain_chunked_are_refused_with_501(
    replicas: list[FakeReplica], make_balancer: BalancerFactory
) -> None:
    # Found by the framing fuzzer: "gzip, chunked" reached the replica as plain chunked (the
    # gzip coding lost) and "xchunked" counted as chunked, where h11 refuses both.
    balancer = await make_balancer(replicas[:1])
    for coding in (
        b"gzip, chunked",
        b"xchunked",
        b"identity",
        b"chunked\r\nTransfer-Encoding: chunked",
    ):
        client = await RawClient.connect(balancer.port)
        try:
            await client.send(
                b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: %s\r\n\r\n0\r\n\r\n"
                % coding
            )
            answer = await client.read_response()
        finally:
            await client.close()
        assert answer.status in (400, 501), coding  # llhttp itself refuses the second
        assert "Transfer-Encoding" in answer.json()["error"]
    assert replicas[0].arrivals == []
