"""Two simulated regions on one machine: the link between them is a delaying proxy.

With ``--region-rtt`` (:attr:`~lbdemo.deploy.layout.Layout.region_rtt_ms`) the balancer, the
replicas and their standbys are in region A, the stack's store container (shared store or
primary) in region B. Every connection from A to B, a replica's to its store and a standby's
replication connection (and its base backup) alike, goes through a
:class:`~lbdemo.process.proxy.FaultProxy` in front of that store, which delays each direction by
half the round trip (:meth:`~lbdemo.process.proxy.FaultProxy.round_trip`). Everything else
(Locust to the balancer, the balancer to the replicas, a replica to its own standby) stays
direct, and so does lbdemo's own observer of the primary (the lag sampler, the catch-up wait),
which measures the link and is in neither region. The final audit asks the replicas, which
answer from their own stores as they answer any read.

What it models: the propagation delay of a long link, per packet, both ways. What it does not:
bandwidth (the proxy forwards as fast as loopback), loss and retransmission, jitter, and
separate clocks (both regions read this machine's one clock, so the checker's order stays sound).
One proxy per store port: a store restarted keeps its port, so the link stays valid.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from lbdemo.process.proxy import FaultProxy


class RegionLink:
    """The proxies between region A and the stores of region B, each started on first use."""

    def __init__(self, rtt_ms: int) -> None:
        self.rtt_ms = rtt_ms
        self._proxies: dict[int, FaultProxy] = {}  # store port -> its proxy

    async def port_for(self, store_port: int) -> int:
        """The port region A connects to in order to reach the store on ``store_port``."""
        proxy = self._proxies.get(store_port)
        if proxy is None:
            proxy = await FaultProxy("127.0.0.1", store_port).start()
            proxy.round_trip(self.rtt_ms / 1000.0)
            self._proxies[store_port] = proxy
        return proxy.port

    async def far_dsn(self, dsn: str) -> str:
        """``dsn`` (a store of region B, ``postgresql://user@127.0.0.1:PORT/db``) as region A
        reaches it: the same server, through the link."""
        parts = urlsplit(dsn)
        if parts.port is None:
            raise ValueError(f"a store DSN without a port: {dsn}")
        port = await self.port_for(parts.port)
        host = parts.netloc.rsplit(":", 1)[0]  # user@host, as it was
        return urlunsplit(parts._replace(netloc=f"{host}:{port}"))

    def connections(self) -> int:
        """Connections that crossed the link so far (every proxy's), for the record."""
        return sum(p.connections for p in self._proxies.values())

    async def close(self) -> None:
        for proxy in self._proxies.values():
            await proxy.close()
        self._proxies.clear()
