"""``--store etcd``: etcd members run by lbdemo, as its children, on 127.0.0.1.

* ``private``: a single-node etcd for one replica, its data in the container's layer: each
  replica has its own store, and the replicas diverge (as private PostgreSQL servers do).
* ``shared``: a 3-member cluster (data on the named volume, one folder per member), replica K
  talking to member K mod 3 and to the others only when its own is down (its store URL names all
  three, its own first: :mod:`lbdemo.store.etcd_store`). Reads are linearizable unless the
  layout's read mode is ``serializable``: then each member answers from its own applied state.
  With ``apply_delay_ms`` (or any serializable read mode, at 0 ms, so both are measured through
  the same links) every member's advertised peer URL is lbdemo's fault proxy in front of its peer
  port, in steady mode, and the leader's raft messages to the other members are held that long
  (:meth:`lbdemo.store.etcd_server.EtcdCluster.set_apply_delay`): the followers' applied state,
  which serializable reads return, trails the leader's by about that much. The delay is placed
  by the leader at start; an election later (a member killed) moves the leader, not the delay.

No password: etcd runs without authentication on 127.0.0.1 (see lbdemo/store/etcd_server.py and
docs/stores.md for what that does not protect).
"""

from __future__ import annotations

import asyncio
from typing import Any

from lbdemo.errors import StoreError
from lbdemo.process.proxy import FaultProxy
from lbdemo.store.engines import EngineSpec
from lbdemo.store.etcd_server import EtcdCluster, PeerLink, etcd_binary

SHARED_MEMBERS = 3


async def proxy_link(peer_port: int, listen_port: int) -> PeerLink:
    """A steady fault proxy on ``listen_port`` in front of a member's real peer port."""
    return await FaultProxy("127.0.0.1", peer_port, steady=True).start(listen_port)


class EtcdEngine:
    """The etcd members of one :class:`~lbdemo.store.engines.EngineSpec` (see the module)."""

    def __init__(self, spec: EngineSpec) -> None:
        if spec.layout not in ("private", "shared"):
            raise StoreError(f"--store etcd runs the layouts private and shared, not {spec.layout}")
        self.spec = spec
        size = 1 if spec.layout == "private" else SHARED_MEMBERS
        self.linked = size > 1 and (spec.apply_delay_ms > 0 or spec.read_mode == "serializable")
        self.cluster = EtcdCluster(
            spec.data_dir,
            size,
            peer_link=proxy_link if self.linked else None,
            log_dir=spec.log_dir,
            log_name=f"{spec.name}-etcd",
        )
        self.leader_at_start: int | None = None

    async def start(self) -> None:
        etcd_binary()
        try:
            await self.cluster.start()
            if self.linked:
                self.leader_at_start = await self.cluster.set_apply_delay(
                    self.spec.apply_delay_ms / 1000
                )
            else:
                self.leader_at_start = await self.cluster.leader()
        except BaseException:
            await self.stop()
            raise

    async def wait_caught_up(self, timeout_s: float) -> float:
        """Before the final audit: every member has applied what the leader committed."""
        if len(self.cluster.members) < 2:
            return 0.0
        return await self.cluster.wait_caught_up(timeout_s)

    async def stop(self) -> None:
        await self.cluster.stop()

    @property
    def processes(self) -> list[asyncio.subprocess.Process]:
        return [m.child.process for m in self.cluster.members if m.child and m.running]

    def store_url(self, index: int) -> str:
        return self.cluster.store_url(index, self.spec.read_mode)

    def read_url(self, index: int) -> str | None:
        return None

    def kill_member(self, index: int) -> int:
        """SIGKILL member ``index`` (a crash); returns its pid."""
        return self.cluster.kill(index)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "etcd",
            "layout": self.spec.layout,
            "read_mode": self.spec.read_mode,
            "apply_delay_ms": self.spec.apply_delay_ms if self.linked else 0,
            "leader_at_start": (
                self.cluster.members[self.leader_at_start].name
                if self.leader_at_start is not None and self.cluster.members
                else None
            ),
            "members": [
                {
                    "name": m.name,
                    "client_port": m.client_port,
                    "peer_port": m.peer_port,
                    "advertised_peer_port": m.advertised_peer_port,
                    "pid": m.pid,
                    "data": str(m.data_dir),
                }
                for m in self.cluster.members
            ],
        }
