"""Fuzzing the replica's API, drawn from its own OpenAPI description, against a real replica
process on real PostgreSQL.

For every generated request: no 5xx; the answer is JSON with ``X-Replica``; its status is one
the description lists for that operation (or 404 for a path no route matches); a 200 conforms
to the documented schema. And bad input changes nothing: the replica's whole listing
(``GET /products``) after a request is the one before it, changed only by an accepted write.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lbdemo.replica.openapi import openapi_spec
from lbdemo.replica.validation import MAX_PRICE, PRODUCT_ID
from lbdemo.store.embedded import ServerInfo
from tests.fuzz.openapi_schema import mutated_values, valid_values, violations
from tests.fuzz.tally import examples, tally

SPEC = openapi_spec()
NAME = "fuzz-r1"
HEADER_LIMIT = 8190  # aiohttp's max_field_size: a longer field is refused with 431
# A small pool of valid ids, so that writes and reads meet on the same products.
POOL = ["p1", "p2", "apple", "A_b-9", "x" * 64]


@dataclass
class Replica:
    host: str
    port: int

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()

    def listing(self) -> dict[str, str]:
        status, _, body = self.request("GET", "/products")
        assert status == 200
        return dict(json.loads(body)["products"])


@pytest.fixture(scope="module")
def replica(pg_server: ServerInfo) -> Iterator[Replica]:
    """``python -m lbdemo.replica`` on the session's server (its password in PGPASSWORD)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lbdemo.replica", "--name", NAME, "--dsn", pg_server.dsn],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline() or "{}")
        assert ready.get("event") == "ready", process.stderr.read() if process.stderr else ""
        host, port = ready["url"].removeprefix("http://").rsplit(":", 1)
        yield Replica(host, int(port))
    finally:
        process.terminate()
        try:
            _, errors = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            _, errors = process.communicate()
    assert "Traceback" not in errors, errors


@dataclass(frozen=True)
class Case:
    method: str
    raw_path: str  # what the request line carries
    path_template: str | None  # the described path it aims at; None: no route
    product_id: str | None  # decoded id, when it aims at /products/{product_id}
    body: bytes | None
    headers: dict[str, str]
    sent_json: Any = None


def _encoded(text: str) -> str:
    return quote(text, safe="")


product_ids = (
    st.sampled_from(POOL) | st.from_regex(PRODUCT_ID, fullmatch=True) | st.text(max_size=80)
)
methods = st.sampled_from(["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"])
price_update = SPEC["paths"]["/products/{product_id}"]["put"]["requestBody"]["content"][
    "application/json"
]["schema"]


odd_prices = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=MAX_PRICE + 1),
    st.floats(),
    st.booleans(),
    st.integers(0, 10**6).map(float),
)
# Text no JSON encoder writes but a parser must survive: endless digits, deep nesting.
odd_documents = st.one_of(
    # lengths around the limits that matter: bigint (19 digits), ours (40), Python's (4,300)
    (st.sampled_from([19, 20, 40, 41, 4300, 4301, 6000]) | st.integers(1, 6000)).map(
        lambda n: b'{"price": ' + b"7" * n + b', "write_id": "w"}'
    ),
    # depths around Python's recursion limit and the most a 64 KiB body holds
    (st.sampled_from([999, 1000, 1001, 30_000]) | st.integers(1, 30_000)).map(
        lambda n: b"[" * n + b"]" * n
    ),
    (st.sampled_from([1000, 12_000]) | st.integers(1, 12_000)).map(
        lambda n: b'{"":' * n + b"0" + b"}" * n
    ),
    st.sampled_from(
        [
            b'{"price": NaN, "write_id": "w"}',
            b'{"price": -Infinity}',
            b'{"price": 1, "write_id": "\\ud800"}',
            b"\xff\xfe{}",
            b"",
        ]
    ),
)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes | None, Any]:
    kind = draw(
        st.sampled_from(
            ["valid", "valid", "mutated", "odd-price", "odd-text", "odd-text", "bytes", "none"]
        )
    )
    if kind == "odd-price":
        value = {**draw(valid_values(price_update, SPEC)), "price": draw(odd_prices)}
        return json.dumps(value).encode(), value
    if kind == "odd-text":
        return draw(odd_documents), None
    if kind == "valid":
        value = draw(valid_values(price_update, SPEC))
        return json.dumps(value).encode(), value
    if kind == "mutated":
        value = draw(mutated_values(price_update, SPEC))
        return json.dumps(value).encode(), value
    if kind == "bytes":
        return draw(st.binary(max_size=200)), None
    return None, None


@st.composite
def cases(draw: st.DrawFn) -> Case:
    # the one path that takes input, most often
    target = draw(st.sampled_from(["/products/{product_id}"] * 4 + [*SPEC["paths"], "elsewhere"]))
    product_id = None
    if target == "/products/{product_id}":
        product_id = draw(product_ids)
        raw_path = f"/products/{_encoded(product_id)}"
        method = draw(st.sampled_from(["GET", "PUT"]) | methods)
    elif target == "elsewhere":
        raw_path = "/" + _encoded(draw(st.text(max_size=30)))
        method = draw(methods)
        target = None
    else:
        raw_path = target
        method = draw(st.sampled_from(["GET"]) | methods)
    body, sent = draw(bodies()) if method in ("PUT", "POST", "PATCH") else (None, None)
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/plain"]))}
    if draw(st.integers(0, 9)) == 0:
        headers["X-Pad"] = "p" * draw(st.sampled_from([100, HEADER_LIMIT + 10, 20_000]))
    return Case(method, raw_path, target, product_id, body, headers, sent)


def expected_statuses(case: Case) -> set[int]:
    if case.path_template is None:
        return {400, 404, 405, 431}
    item = SPEC["paths"][case.path_template]
    operation = item.get(case.method.lower())
    if operation is None:
        return {400, 404, 405, 431}
    return {int(status) for status in operation["responses"]} | {404}


def check_answer(
    replica: Replica, case: Case, status: int, headers: dict[str, str], body: bytes
) -> Any:
    assert status < 500, (case, status, body[:300])
    assert headers.get("x-replica") == NAME, (case, status, headers)
    assert headers.get("content-type", "").startswith("application/json"), (case, headers)
    document = json.loads(body)
    assert status in expected_statuses(case), (case, status, document)
    if status >= 400:
        assert document["status"] == status and document["error"], document
    if len(case.headers.get("X-Pad", "")) > HEADER_LIMIT:
        assert status == 431, (case, status)
    return document


@settings(
    max_examples=examples(100),
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=cases())
def test_every_answer_is_documented_json_with_x_replica_and_bad_input_changes_nothing(
    replica: Replica, case: Case
) -> None:
    before = replica.listing()  # each example checks its own effect, whatever came before
    status, headers, body = replica.request(case.method, case.raw_path, case.body, case.headers)
    tally("replica API (OpenAPI-driven)", f"{case.method} {status}")
    document = check_answer(replica, case, status, headers, body)
    operation = (
        SPEC["paths"][case.path_template].get(case.method.lower()) if case.path_template else None
    )
    if status == 200 and operation is not None:
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert violations(document, schema, SPEC) == [], document
    valid_id = case.product_id is not None and PRODUCT_ID.fullmatch(case.product_id)
    if (
        case.method == "PUT"
        and case.path_template == "/products/{product_id}"
        and valid_id
        and status == 200
    ):
        assert case.product_id is not None
        sent = case.sent_json if case.sent_json is not None else json.loads(case.body or b"")
        assert (document["price"], document["write_id"]) == (sent["price"], sent["write_id"])
        before[case.product_id] = sent["write_id"]
    elif (
        case.method == "PUT"
        and valid_id
        and case.sent_json is not None
        and not violations(case.sent_json, price_update, SPEC)
        and len(case.headers.get("X-Pad", "")) <= HEADER_LIMIT
    ):
        pytest.fail(f"a valid write was refused: {case} -> {status} {document}")
    if case.method == "GET" and valid_id and status in (200, 404):
        assert case.product_id is not None
        assert (status == 200) == (case.product_id in before), (case, status)
    assert replica.listing() == before, "a request changed what it should not have"
