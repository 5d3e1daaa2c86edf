"""The OpenAPI description the replica serves matches its routes and resolves in full."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession

from lbdemo.replica.app import ReplicaSettings, create_app
from lbdemo.replica.openapi import OPENAPI_PATH, openapi_spec
from lbdemo.store.base import MemoryStore

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def routes_of_the_app() -> set[tuple[str, str]]:
    app = create_app(ReplicaSettings("r1"), MemoryStore())
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        found.add((route.method.lower(), str(path)))
    return found


def operations_of_the_spec(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    }


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def test_every_route_is_described_and_every_described_operation_is_a_route() -> None:
    assert operations_of_the_spec(openapi_spec()) == routes_of_the_app()


def test_every_reference_resolves() -> None:
    spec = openapi_spec()
    for ref in refs(spec):
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict), ref


def test_every_response_is_json_with_x_replica() -> None:
    spec = openapi_spec()
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            for status, response in operation["responses"].items():
                assert "application/json" in response["content"], (method, status)
                assert "X-Replica" in response["headers"], (method, status)


async def test_the_replica_serves_its_description(served_replica: str) -> None:
    async with ClientSession() as http, http.get(f"{served_replica}{OPENAPI_PATH}") as r:
        assert r.status == 200
        assert r.headers["X-Replica"] == "r1"
        assert await r.json() == openapi_spec()
