"""A body's verdict does not depend on how it is cut (issue 21 item 2).

The replica read a PUT body with one ``content.read(MAX + 1)`` and judged whatever had arrived:
a valid body sent in two TCP pieces (or as two chunks) got 400, and a valid object followed by
``}}}} not json`` in two pieces got 200 and was stored. Here valid and invalid bodies are sent
in random TCP pieces (a pause between them, so they arrive as separate reads) and random
chunkings, directly to a replica and through the balancer: every valid one must be stored
(200 with its write id), every invalid one refused (400). ``LBDEMO_BODY_FUZZ`` sets how many
of each (40 by default; results/robustness.md has a 2,000 + 2,000 run).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from lbdemo.balancer import Balancer, BalancerConfig, Upstream
from lbdemo.replica.app import ReplicaSettings, create_app, create_runner
from lbdemo.store.base import MemoryStore

COUNT = int(os.environ.get("LBDEMO_BODY_FUZZ", "40"))
SEED = int(os.environ.get("LBDEMO_BODY_FUZZ_SEED", "21"))
CONCURRENCY = 16


def valid_body(rng: random.Random, n: int) -> bytes:
    price = rng.choice([0, 1, rng.randrange(10**6), 2**63 - 1])
    write_id = f"w{n}-" + "".join(rng.choice("abcdefXYZ0123456789-_.:") for _ in range(8))
    fields = [f'"price": {price}', f'"write_id": "{write_id}"']
    rng.shuffle(fields)
    space = rng.choice(["", " ", "\n", "  \t"])
    return ("{" + space + ("," + space).join(fields) + space + "}").encode()


def invalid_body(rng: random.Random, n: int) -> bytes:
    good = valid_body(rng, n)
    kind = rng.randrange(8)
    if kind == 0:
        return good + b"}}}} not json"  # the case: valid, then garbage
    if kind == 1:
        return good[: rng.randrange(1, len(good))]  # cut short
    if kind == 2:
        return good + b" " + good  # two objects
    if kind == 3:
        return good.replace(b'"price"', b'"prize"')  # unknown field
    if kind == 4:
        return good.replace(b'"write_id": "', b'"write_id": "a b')  # a space in the id
    if kind == 5:
        return b"[" + good + b"]"  # not an object
    if kind == 6:
        return good[:-1] + b', "extra": ' + b"[" * rng.randrange(1, 50) + b"}"
    return good.replace(b"{", b"{\xff", 1)  # not UTF-8


def _pieces(rng: random.Random, data: bytes) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randrange(1, 5))))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _request(rng: random.Random, path: str, body: bytes) -> list[bytes]:
    """The request's bytes as the pieces to write, with a pause between them."""
    if rng.random() < 0.5:
        head = f"PUT {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        wire = head + body
    else:
        head = f"PUT {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        chunks = _pieces(rng, body) if len(body) > 1 else [body]
        wire = head + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    # Always one cut inside the body: the case the replica got wrong.
    first = len(head) + rng.randrange(1, max(2, len(wire) - len(head)))
    rest = _pieces(rng, wire[first:]) if len(wire) - first > 1 else [wire[first:]]
    return [wire[:first], *rest]


async def _send(port: int, pieces: list[bytes]) -> tuple[int, dict[str, object]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.003)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = await reader.readexactly(length)
        return int(head.split()[1]), json.loads(body)
    finally:
        writer.close()


@pytest_asyncio.fixture
async def ports() -> AsyncIterator[dict[str, int]]:
    runner = create_runner(create_app(ReplicaSettings("r1"), MemoryStore()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    balancer = Balancer(
        BalancerConfig(upstreams=(Upstream("r1", "127.0.0.1", port),), health_interval=0)
    )
    await balancer.start()
    try:
        yield {"direct": port, "balancer": balancer.port}
    finally:
        await balancer.stop()
        await runner.cleanup()


@pytest.mark.parametrize("path", ["direct", "balancer"])
async def test_valid_bodies_in_pieces_are_stored_and_invalid_ones_refused(
    path: str, ports: dict[str, int]
) -> None:
    rng = random.Random(f"{SEED}-{path}")
    cases = [(True, valid_body(rng, n)) for n in range(COUNT)]
    cases += [(False, invalid_body(rng, n)) for n in range(COUNT)]
    rng.shuffle(cases)
    outcomes: Counter[str] = Counter()
    wrong: list[str] = []
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(n: int, valid: bool, body: bytes) -> None:
        pieces = _request(rng, f"/products/p{n % 50}", body)
        async with gate:
            status, answer = await _send(ports[path], pieces)
        outcomes[f"{'valid' if valid else 'invalid'} {status}"] += 1
        ok = (
            status == 200 and answer.get("write_id") == json.loads(body)["write_id"]
            if valid
            else status == 400
        )
        if not ok:
            wrong.append(f"{status} {answer} for {pieces!r}")

    await asyncio.gather(*(one(n, v, b) for n, (v, b) in enumerate(cases)))
    print(path, dict(outcomes))
    assert wrong == [], f"{len(wrong)} wrong of {2 * COUNT}, e.g. {wrong[:3]}"
    assert outcomes == {"valid 200": COUNT, "invalid 400": COUNT}
