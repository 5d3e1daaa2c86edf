"""The etcd store on real etcd members (Debian's etcd-server 3.4), as lbdemo's own children.

One 3-member cluster for the module, its peer links through lbdemo's fault proxy: reads and
writes through the JSON gateway, the apply delay seen by a serializable read and not by a
linearizable one, and a kill -9 of a member that a replica's store rides out. The tests hold
whether or not the kill ran first (two members keep a majority).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from lbdemo.errors import StoreError
from lbdemo.process.pids import pid_alive
from lbdemo.store.etcd_engine import proxy_link
from lbdemo.store.etcd_server import EtcdCluster
from lbdemo.store.etcd_store import EtcdStore, etcd_url

pytestmark = pytest.mark.skipif(
    shutil.which("etcd") is None,
    reason="etcd is not installed (apt-get install etcd-server; scripts/ensure-stores does it)",
)


@pytest_asyncio.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EtcdCluster]:
    root = tmp_path_factory.mktemp("etcd") / "cluster"
    async with EtcdCluster(root, 3, peer_link=proxy_link) as running:
        yield running
        pids = [m.pid for m in running.members if m.pid is not None]
    assert len(pids) == 3 and not any(pid_alive(pid) for pid in pids)


async def _follower(cluster: EtcdCluster, leader: int) -> int:
    return next(i for i, m in enumerate(cluster.members) if m.running and i != leader)


async def test_put_get_and_snapshot_through_the_gateway(cluster: EtcdCluster) -> None:
    leader = await cluster.leader()
    writer = await EtcdStore.connect(cluster.store_url(leader))
    reader = await EtcdStore.connect(cluster.store_url(await _follower(cluster, leader)))
    try:
        assert await reader.get("kiwi") is None
        first = await writer.put("kiwi", 100, "w-1")
        second = await writer.put("kiwi", 120, "w-2")
        await writer.put("plum/ü", 5, "w-3")  # any product id is one key, UTF-8 kept
        assert (first.version, second.version) == (1, 2)
        got = await reader.get("kiwi")
        assert got is not None and (got.price, got.write_id, got.version) == (120, "w-2", 2)
        snapshot = await reader.snapshot()
        assert snapshot["kiwi"] == "w-2" and snapshot["plum/ü"] == "w-3"
        assert "ready" not in snapshot  # only the products' prefix
    finally:
        await writer.close()
        await reader.close()


async def test_an_apply_delay_is_seen_by_serializable_reads_only(cluster: EtcdCluster) -> None:
    """100 ms on the leader's peer links: a serializable read on a follower right after an
    acknowledged write misses it (every time, of three); a linearizable read there never does."""
    leader = await cluster.set_apply_delay(0.1)
    follower = await _follower(cluster, leader)
    writer = await EtcdStore.connect(cluster.store_url(leader))
    local = await EtcdStore.connect(cluster.store_url(follower, "serializable"))
    linear = await EtcdStore.connect(cluster.store_url(follower))
    try:
        missed = 0
        for n in range(3):
            await writer.put("fig", n, f"fig-{n}")
            seen = await local.get("fig")
            missed += seen is None or seen.write_id != f"fig-{n}"
            current = await linear.get("fig")
            assert current is not None and current.write_id == f"fig-{n}"
        assert missed == 3
        # before an audit: waiting until the members caught up takes about the delay, and
        # then the serializable read has the last write
        await writer.put("fig", 9, "fig-9")
        assert await cluster.wait_caught_up(5) >= 0.05
        caught_up = await local.get("fig")
        assert caught_up is not None and caught_up.write_id == "fig-9"
    finally:
        await cluster.set_apply_delay(0)
        for store in (writer, local, linear):
            await store.close()


async def test_a_store_whose_member_was_killed_uses_the_others(cluster: EtcdCluster) -> None:
    """kill -9 of a follower: a store that has it first in its list still writes and reads
    (connection refused: nothing was sent, so the next member is asked)."""
    leader = await cluster.leader()
    victim = await _follower(cluster, leader)
    store = await EtcdStore.connect(cluster.store_url(victim))
    try:
        await store.put("pear", 1, "pear-1")
        pid = cluster.kill(victim)
        await cluster.members[victim].child.process.wait()  # type: ignore[union-attr]
        assert not pid_alive(pid)
        await store.put("pear", 2, "pear-2")
        got = await store.get("pear")
        assert got is not None and got.write_id == "pear-2"
    finally:
        await store.close()
    with pytest.raises(StoreError, match="no etcd member answered"):
        await EtcdStore.connect(etcd_url([cluster.members[victim].client_url]))


async def test_a_single_node_keeps_its_data_and_a_failed_start_leaves_nothing(
    tmp_path: Path,
) -> None:
    """The private layout's store and a named volume's: stopped, started again on the ports it
    recorded, the data is there; its process is gone after each stop, and after a start that
    failed."""
    node = EtcdCluster(tmp_path / "node", 1)
    async with node:
        store = await EtcdStore.connect(node.store_url(0))
        await store.put("lime", 7, "lime-1")
        await store.close()
        pid = node.members[0].pid
    assert pid is not None and not pid_alive(pid)
    async with EtcdCluster(tmp_path / "node", 1) as again:
        store = await EtcdStore.connect(again.store_url(0))
        try:
            got = await store.get("lime")
            assert got is not None and got.write_id == "lime-1"
        finally:
            await store.close()
    # its recorded peer port taken: the start fails in one line naming the log, nothing runs
    peer_port = again.members[0].peer_port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", peer_port))
        squatter.listen()
        third = EtcdCluster(tmp_path / "node", 1)
        with pytest.raises(StoreError, match=r"etcd member m1 exited: .*etcd\.log"):
            await third.start()
    assert third.members[0].child is None and not _etcd_on(third.members[0].data_dir)


def _etcd_on(data_dir: Path) -> bool:
    """Whether any process's command line names ``data_dir`` (an etcd left running on it)."""
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and str(data_dir).encode() in (entry / "cmdline").read_bytes():
                return True
    return False
