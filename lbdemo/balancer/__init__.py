"""The load balancer: an asyncio HTTP/1.1 reverse proxy with per-request round robin.

``server`` (lifecycle), ``client``, ``exchange`` and ``upstream`` (the data path: a client
socket, one request and its answer, the replica's side), ``flow`` (flow control), ``pool``
(replicas and their keep-alive connections), ``strategy`` (round robin & co), ``health``,
``admin``, ``metrics``.
Run it with ``python -m lbdemo.balancer``.
"""

from __future__ import annotations

# Before anything imports the data path: with $LBDEMO_COMPILED set, its compiled build.
from lbdemo.balancer.native import activate_from_environment

activate_from_environment()

from lbdemo.balancer.config import BalancerConfig, Upstream, parse_upstream  # noqa: E402
from lbdemo.balancer.server import Balancer  # noqa: E402

__all__ = ["Balancer", "BalancerConfig", "Upstream", "parse_upstream"]
