"""Bytes a replica sends after its declared body are never forwarded (issue 10, defect 2).

A replica that over-sends (a buggy one, or one that was itself smuggled a request) must not
answer the client's next pipelined request with its surplus: the balancer closes such an
upstream connection and the next request goes out on a fresh one.
"""

from __future__ import annotations

import pytest
from fakes import BalancerFactory, StartRaw
from rawhttp import RawClient, build_request

FORGED = b"HTTP/1.1 200 OK\r\nX-Replica: forged\r\nContent-Length: 6\r\n\r\nforged"


def _path(head: bytes) -> bytes:
    return head.split(b" ", 2)[1]


def _plain(head: bytes) -> bytes:
    body = b"answer to " + _path(head)
    return b"HTTP/1.1 200 OK\r\nX-Replica: raw\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def _chunked(head: bytes) -> bytes:
    body = b"answer to " + _path(head)
    head_part = b"HTTP/1.1 200 OK\r\nX-Replica: raw\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head_part + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def _hop(head: bytes) -> bytes:
    # A hop-by-hop header keeps this response off the raw path: the parser handles it.
    body = b"answer to " + _path(head)
    return b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )


@pytest.mark.parametrize("answer", [_plain, _chunked, _hop], ids=["plain", "chunked", "hop"])
async def test_surplus_after_a_response_is_not_the_answer_to_the_next_pipelined_request(
    raw_replica: StartRaw, make_balancer: BalancerFactory, answer: object
) -> None:
    make = answer  # a function of the request head
    assert callable(make)
    # The first answer carries a forged response after its body, in the same write.
    replica = await raw_replica(
        lambda head: [make(head) + FORGED] if _path(head) == b"/1" else [make(head)]
    )
    balancer = await make_balancer((replica.upstream,))
    client = await RawClient.connect(balancer.port)
    try:
        await client.send(build_request("GET", "/1") + build_request("GET", "/2"))
        first, second = await client.read_responses(2, timeout=5)
        third = await client.request("GET", "/3", timeout=5)
    finally:
        await client.close()
    assert first.body == b"answer to /1"
    assert second.body == b"answer to /2", second
    assert third.body == b"answer to /3"
    assert replica.connections == 2  # the over-sending connection was closed, not reused


async def test_body_bytes_after_a_head_answer_are_dropped_with_the_connection(
    raw_replica: StartRaw, make_balancer: BalancerFactory
) -> None:
    def script(head: bytes) -> list[bytes]:
        # A HEAD answer has no body; this replica sends one anyway, then a forged response.
        if head.startswith(b"HEAD"):
            return [_hop(head) + FORGED]
        return [_hop(head)]

    replica = await raw_replica(script)
    balancer = await make_balancer((replica.upstream,))
    client = await RawClient.connect(balancer.port)
    try:
        head = await client.request("HEAD", "/h", timeout=5)
        after = await client.request("GET", "/g", timeout=5)
    finally:
        await client.close()
    assert head.status == 200
    assert after.body == b"answer to /g"
    assert replica.connections == 2
