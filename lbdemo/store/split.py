"""Writes to one store, reads from another: a replica in a replicated layout.

The write store is the primary every replica shares; the read store is the replica's own
streaming standby. Nothing here waits for the standby to catch up: a read may return an older
value than a write already acknowledged, which is exactly what the replicated layouts measure.
"""

from __future__ import annotations

import asyncio

from lbdemo.store.base import Product, Store


class SplitStore:
    """A :class:`~lbdemo.store.base.Store` that writes to ``writes`` and reads from ``reads``."""

    def __init__(self, writes: Store, reads: Store) -> None:
        self.writes = writes
        self.reads = reads

    async def put(self, product_id: str, price: int, write_id: str) -> Product:
        return await self.writes.put(product_id, price, write_id)

    async def get(self, product_id: str) -> Product | None:
        return await self.reads.get(product_id)

    async def snapshot(self) -> dict[str, str]:
        """What this replica serves, so from its standby (the final audit asks for this)."""
        return await self.reads.snapshot()

    async def ping(self) -> None:
        # healthy only when both answer: without the primary it cannot write, without the
        # standby it cannot read
        await self.writes.ping()
        await self.reads.ping()

    async def close(self) -> None:
        await asyncio.gather(self.writes.close(), self.reads.close())
