"""The replica's API as an OpenAPI 3.0 description, written by hand and served at
``GET /openapi.json``.

Written rather than generated so it says what the API promises (every status a request can
get, the ``X-Replica`` header on each of them), not merely what the code happens to do; a test
holds it to the routes and the fuzzer (``tests/fuzz``) draws its requests from it and checks
every answer against it. Limits come from :mod:`lbdemo.replica.validation`, so the two cannot
drift apart.
"""

from __future__ import annotations

from typing import Any

from lbdemo.replica.validation import MAX_BODY_BYTES, MAX_PRICE, PRODUCT_ID, WRITE_ID

OPENAPI_PATH = "/openapi.json"
ERROR_STATUSES = {
    "400": "malformed request: bad JSON, a field of the wrong type, a bad id or HTTP head",
    "404": "no such product (or no such route)",
    "405": "method not allowed on this path",
    "413": f"body larger than {MAX_BODY_BYTES} bytes",
    "422": "well-formed, but the price is negative, fractional or too large",
    "431": "request line or header field too large",
    "503": "the replica's database is unavailable",
    "504": "the database did not answer a write it received: it may have been applied",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Replica": {"$ref": "#/components/headers/X-Replica"}},
        "content": {"application/json": {"schema": schema}},
    }


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: _json(_ref("Error"), ERROR_STATUSES[status]) for status in statuses}


# Statuses any request may get whatever its route: a head the parser refuses, a wrong method.
_ANY_REQUEST = ("400", "405", "431")

SCHEMAS: dict[str, Any] = {
    "PriceUpdate": {
        "type": "object",
        "required": ["price", "write_id"],
        "additionalProperties": False,
        "properties": {
            "price": {"type": "integer", "minimum": 0, "maximum": MAX_PRICE},
            "write_id": {"type": "string", "pattern": f"^{WRITE_ID.pattern}$"},
        },
    },
    "Product": {
        "type": "object",
        "required": ["id", "price", "write_id", "version", "updated_at", "replica", "image"],
        "properties": {
            "id": {"type": "string", "pattern": f"^{PRODUCT_ID.pattern}$"},
            "price": {"type": "integer", "minimum": 0, "maximum": MAX_PRICE},
            "write_id": {"type": "string", "pattern": f"^{WRITE_ID.pattern}$"},
            "version": {"type": "integer", "minimum": 1},
            "updated_at": {"type": "string", "format": "date-time"},
            "replica": {"type": "string"},
            "image": {"type": "string"},
            "currency": {"type": "string", "description": "from lbdemo/catalog:1.1 on"},
        },
    },
    "Listing": {
        "type": "object",
        "required": ["replica", "count", "products"],
        "properties": {
            "replica": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "products": {
                "type": "object",
                "description": "product id -> write id of its current value",
                "additionalProperties": {"type": "string"},
            },
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "replica", "image"],
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "replica": {"type": "string"},
            "image": {"type": "string"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error", "status"],
        "properties": {
            "error": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
        },
    },
}

PRODUCT_ID_PARAMETER = {
    "name": "product_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{PRODUCT_ID.pattern}$"},
}


def openapi_spec() -> dict[str, Any]:
    """The description, as a new dict each time (callers may change theirs)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "lbdemo catalog replica",
            "version": "1.0",
            "description": "A stateless product catalogue; state lives only in PostgreSQL. "
            "Every response, errors included, is JSON and carries X-Replica. Bad input is "
            "refused and changes nothing.",
        },
        "paths": {
            "/products/{product_id}": {
                "parameters": [PRODUCT_ID_PARAMETER],
                "get": {
                    "operationId": "getProduct",
                    "responses": {
                        "200": _json(_ref("Product"), "the product's current row"),
                        **_errors(*_ANY_REQUEST, "404", "503"),
                    },
                },
                "put": {
                    "operationId": "putProduct",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("PriceUpdate")}},
                    },
                    "responses": {
                        "200": _json(_ref("Product"), "the row as stored"),
                        **_errors(*_ANY_REQUEST, "413", "422", "503", "504"),
                    },
                },
            },
            "/products": {
                "get": {
                    "operationId": "listProducts",
                    "responses": {
                        "200": _json(_ref("Listing"), "what the final audit reads"),
                        **_errors(*_ANY_REQUEST, "503"),
                    },
                },
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "responses": {
                        "200": _json(_ref("Health"), "connected to its store"),
                        **_errors(*_ANY_REQUEST, "503"),
                    },
                },
            },
            OPENAPI_PATH: {
                "get": {
                    "operationId": "openapi",
                    "responses": {
                        "200": _json({"type": "object"}, "this description"),
                        **_errors(*_ANY_REQUEST),
                    },
                },
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "headers": {
                "X-Replica": {
                    "description": "name of the replica (container) that answered",
                    "required": True,
                    "schema": {"type": "string"},
                },
            },
        },
    }
