"""The seam between a replica and its storage: a small protocol, a real and a test kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Product:
    """One stored row: the latest price of a product and the write that set it."""

    id: str
    price: int
    write_id: str
    version: int
    updated_at: datetime


class Store(Protocol):
    """What a replica needs from storage. Every method may raise :class:`StoreError`."""

    async def put(self, product_id: str, price: int, write_id: str) -> Product: ...

    async def get(self, product_id: str) -> Product | None: ...

    async def snapshot(self) -> dict[str, str]:
        """Every product id mapped to its current write id (for the final audit)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class MemoryStore:
    """A dict-backed Store for unit tests of the HTTP layer (integration tests use PostgreSQL)."""

    def __init__(self) -> None:
        self.rows: dict[str, Product] = {}

    async def put(self, product_id: str, price: int, write_id: str) -> Product:
        previous = self.rows.get(product_id)
        row = Product(
            product_id, price, write_id, previous.version + 1 if previous else 1, datetime.now()
        )
        self.rows[product_id] = row
        return row

    async def get(self, product_id: str) -> Product | None:
        return self.rows.get(product_id)

    async def snapshot(self) -> dict[str, str]:
        return {key: row.write_id for key, row in self.rows.items()}

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
