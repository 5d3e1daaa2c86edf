"""Checks on client input; each failure names the HTTP status and a message for the JSON body."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

PRODUCT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
WRITE_ID = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII, no spaces
MAX_BODY_BYTES = 64 * 1024
MAX_PRICE = 2**63 - 1  # PostgreSQL bigint
# Longer integer literals are not converted at all: Python refuses past 4,300 digits (a
# ValueError that was a 500) and anything past 19 digits is out of range for a price anyway.
MAX_INT_DIGITS = 40


class _HugeInteger:
    """An integer literal too long to be worth converting; only its sign is kept."""

    def __init__(self, literal: str) -> None:
        self.negative = literal.startswith("-")


def _parse_int(literal: str) -> int | _HugeInteger:
    return _HugeInteger(literal) if len(literal) > MAX_INT_DIGITS else int(literal)


class InvalidInput(Exception):
    """Client input that is refused with ``status``; nothing was changed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class PriceUpdate:
    price: int
    write_id: str


def check_product_id(product_id: str) -> str:
    if not PRODUCT_ID.fullmatch(product_id):
        raise InvalidInput(400, "product id must match [A-Za-z0-9_-]{1,64}")
    return product_id


def parse_price_update(body: bytes) -> PriceUpdate:
    """Parse ``{"price": <int >= 0>, "write_id": "<id>"}``.

    Malformed JSON or a field of the wrong type is a 400; a price that is a number but not a
    non-negative integer is a 422 (the request is well-formed, its value is not acceptable).
    """
    try:
        data: Any = json.loads(body, parse_int=_parse_int)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(400, f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # 30,000 nested brackets fit in a 64 KiB body
        raise InvalidInput(400, "body is nested too deeply") from exc
    if not isinstance(data, dict):
        raise InvalidInput(400, "body must be a JSON object")
    unknown = set(data) - {"price", "write_id"}
    if unknown:
        raise InvalidInput(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    price, write_id = data.get("price"), data.get("write_id")
    if "price" not in data:
        raise InvalidInput(400, "missing field: price")
    if isinstance(price, _HugeInteger):
        raise InvalidInput(
            422,
            "price must not be negative"
            if price.negative
            else f"price must be at most {MAX_PRICE}",
        )
    # bool is an int in Python; in JSON it is not a number
    if isinstance(price, bool) or not isinstance(price, (int, float)):
        raise InvalidInput(400, "price must be a number")
    if isinstance(price, float):
        raise InvalidInput(422, "price must be an integer")
    if price < 0:
        raise InvalidInput(422, "price must not be negative")
    if price > MAX_PRICE:
        raise InvalidInput(422, f"price must be at most {MAX_PRICE}")
    if not isinstance(write_id, str):
        raise InvalidInput(400, "write_id must be a string")
    if not WRITE_ID.fullmatch(write_id):
        raise InvalidInput(400, "write_id must be 1-128 printable ASCII characters, no spaces")
    return PriceUpdate(price, write_id)
