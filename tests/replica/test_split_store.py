"""A replica of a replicated layout writes to the primary and reads from its standby."""

from __future__ import annotations

from lbdemo.store.base import MemoryStore
from lbdemo.store.split import SplitStore


async def test_writes_go_to_one_store_and_reads_come_from_the_other() -> None:
    primary, standby = MemoryStore(), MemoryStore()
    store = SplitStore(primary, standby)
    await store.put("apple", 120, "w1")
    assert "apple" in primary.rows and "apple" not in standby.rows
    assert await store.get("apple") is None, "the standby has not seen it: a stale read"
    assert await store.snapshot() == {}
    await standby.put("apple", 120, "w1")  # replication caught up
    product = await store.get("apple")
    assert product is not None and product.write_id == "w1"
    assert await store.snapshot() == {"apple": "w1"}
