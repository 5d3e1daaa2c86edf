"""The replica's HTTP API over a real socket and a real PostgreSQL: answers, refusals, X-Replica."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from lbdemo.errors import StoreError, StoreOutcomeUnknown
from lbdemo.replica.app import ReplicaSettings, create_app
from lbdemo.store.base import MemoryStore, Product
from lbdemo.store.postgres import PostgresStore


@pytest_asyncio.fixture
async def replica(store: PostgresStore) -> AsyncIterator[str]:
    server = TestServer(create_app(ReplicaSettings("r1"), store), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def test_put_then_get_returns_the_row_and_names_the_replica(
    replica: str, http: ClientSession
) -> None:
    async with http.put(f"{replica}/products/apple", json={"price": 1200, "write_id": "w1"}) as r:
        assert r.status == 200
        assert r.headers["X-Replica"] == "r1"
    async with http.get(f"{replica}/products/apple") as r:
        body = await r.json()
    assert r.status == 200
    assert body["price"] == 1200 and body["write_id"] == "w1" and body["version"] == 1
    assert body["replica"] == "r1" and body["updated_at"]


async def test_each_write_bumps_the_version(replica: str, http: ClientSession) -> None:
    for n in range(3):
        async with http.put(f"{replica}/products/pear", json={"price": n, "write_id": f"w{n}"}):
            pass
    async with http.get(f"{replica}/products/pear") as r:
        assert (await r.json())["version"] == 3


BAD_PUTS = [
    pytest.param(b"{not json", 400, id="malformed-json"),
    pytest.param(b'["price", 5]', 400, id="not-an-object"),
    pytest.param(b'{"price": "12", "write_id": "x"}', 400, id="price-is-a-string"),
    pytest.param(b'{"price": true, "write_id": "x"}', 400, id="price-is-a-bool"),
    pytest.param(b'{"write_id": "x"}', 400, id="price-missing"),
    pytest.param(b'{"price": 5, "write_id": 7}', 400, id="write-id-not-a-string"),
    pytest.param(b'{"price": 5, "write_id": "has space"}', 400, id="write-id-with-space"),
    pytest.param(b'{"price": 5, "write_id": "x", "extra": 1}', 400, id="unknown-field"),
    pytest.param(b'{"price": -1, "write_id": "x"}', 422, id="negative-price"),
    pytest.param(b'{"price": 9.5, "write_id": "x"}', 422, id="fractional-price"),
    pytest.param(b'{"price": 1e30, "write_id": "x"}', 422, id="float-price"),
    pytest.param(b'{"price": 99999999999999999999, "write_id": "x"}', 422, id="price-too-big"),
    pytest.param(b'{"price": 5, "write_id": "' + b"a" * 70_000 + b'"}', 413, id="body-over-64k"),
]


@pytest.mark.parametrize(("body", "status"), BAD_PUTS)
async def test_bad_input_is_refused_with_json_and_changes_nothing(
    replica: str, http: ClientSession, body: bytes, status: int
) -> None:
    async with http.put(f"{replica}/products/kiwi", json={"price": 10, "write_id": "orig"}):
        pass
    async with http.put(
        f"{replica}/products/kiwi", data=body, headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == status
        assert r.headers["X-Replica"] == "r1"
        assert r.content_type == "application/json"
        assert (await r.json())["error"]
    async with http.get(f"{replica}/products/kiwi") as r:
        after = await r.json()
    assert (after["price"], after["write_id"], after["version"]) == (10, "orig", 1)


@pytest.mark.parametrize("product_id", ["has.dot", "a" * 65, "sp%20ace", "%27%3B--"])
async def test_bad_product_id_is_400_and_stores_nothing(
    replica: str, http: ClientSession, store: PostgresStore, product_id: str
) -> None:
    async with http.put(
        f"{replica}/products/{product_id}", json={"price": 1, "write_id": "w"}
    ) as r:
        assert r.status == 400
        assert r.headers["X-Replica"] == "r1"
    assert await store.snapshot() == {}


async def test_unknown_product_is_404_json(replica: str, http: ClientSession) -> None:
    async with http.get(f"{replica}/products/nothing-here") as r:
        assert r.status == 404
        assert r.headers["X-Replica"] == "r1"
        assert (await r.json())["error"] == "no such product"


async def test_wrong_method_is_405_json(replica: str, http: ClientSession) -> None:
    async with http.delete(f"{replica}/products/apple") as r:
        assert r.status == 405
        assert r.headers["X-Replica"] == "r1"
        assert (await r.json())["status"] == 405


async def test_unknown_route_is_404_json(replica: str, http: ClientSession) -> None:
    async with http.get(f"{replica}/nope") as r:
        assert r.status == 404
        assert r.headers["X-Replica"] == "r1"
        assert r.content_type == "application/json"


async def test_healthz_and_listing_for_the_audit(replica: str, http: ClientSession) -> None:
    async with http.put(f"{replica}/products/a1", json={"price": 1, "write_id": "w-a1"}):
        pass
    async with http.get(f"{replica}/healthz") as r:
        assert r.status == 200 and (await r.json())["status"] == "ok"
    async with http.get(f"{replica}/products") as r:
        listing = await r.json()
    assert listing == {"replica": "r1", "count": 1, "products": {"a1": "w-a1"}}


async def test_catalog_1_1_adds_a_visible_field(store: PostgresStore, http: ClientSession) -> None:
    server = TestServer(
        create_app(ReplicaSettings("r9", "lbdemo/catalog:1.1"), store), host="127.0.0.1"
    )
    await server.start_server()
    try:
        url = str(server.make_url("/products/x"))
        async with http.put(url, json={"price": 3, "write_id": "w"}) as r:
            body = await r.json()
        assert body["image"] == "lbdemo/catalog:1.1" and body["currency"] == "KRW"
    finally:
        await server.close()


async def test_an_unexpected_error_is_a_500_in_json_with_x_replica(http: ClientSession) -> None:
    class BrokenStore(MemoryStore):
        async def get(self, product_id: str) -> Product | None:
            raise RuntimeError("a bug")

    server = TestServer(create_app(ReplicaSettings("r5"), BrokenStore()), host="127.0.0.1")
    await server.start_server()
    try:
        async with http.get(str(server.make_url("/products/x"))) as r:
            assert r.status == 500
            assert r.headers["X-Replica"] == "r5"
            assert (await r.json())["error"] == "internal error"
    finally:
        await server.close()


async def test_a_write_of_unknown_outcome_is_a_504_a_failed_store_a_503(
    http: ClientSession,
) -> None:
    """The workload records 503 as certainly not applied and 504 as maybe applied: a store
    that lost the answer to a sent write (etcd's member died) must not say 503."""

    class LosingStore(MemoryStore):
        async def put(self, product_id: str, price: int, write_id: str) -> Product:
            if product_id == "lost":
                raise StoreOutcomeUnknown("sent, no answer")
            raise StoreError("refused")

    server = TestServer(create_app(ReplicaSettings("r6"), LosingStore()), host="127.0.0.1")
    await server.start_server()
    body = {"price": 1, "write_id": "w-1"}
    try:
        async with http.put(str(server.make_url("/products/lost")), json=body) as r:
            assert (r.status, (await r.json())["error"]) == (504, "database did not answer")
        async with http.put(str(server.make_url("/products/refused")), json=body) as r:
            assert (r.status, (await r.json())["error"]) == (503, "database unavailable")
    finally:
        await server.close()
