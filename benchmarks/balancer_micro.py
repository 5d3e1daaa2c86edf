"""CPU time of the balancer's own Python per request, in process, with fake transports.

    .venv/bin/python benchmarks/balancer_micro.py [--parser] [--rounds 7] [--n 50000]

One client connection and one replica connection, both on transports that drop what is
written; each request is a head fed to ``ClientConnection.data_received`` and a response fed to
``UpstreamConnection.data_received``. The default request takes the fast path (heads.py);
``--parser`` adds ``Connection: keep-alive``, which sends it through httptools. CPU time
(``time.process_time``), not wall time: on a shared machine other work inflates wall time but
not this process's CPU time. Prints the median and minimum of the rounds, in µs per request.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lbdemo.balancer import BalancerConfig, Upstream  # noqa: E402
from lbdemo.balancer.client import ClientConnection  # noqa: E402
from lbdemo.balancer.context import ProxyContext  # noqa: E402
from lbdemo.balancer.metrics import Metrics  # noqa: E402
from lbdemo.balancer.pool import ReplicaSet  # noqa: E402
from lbdemo.balancer.strategy import make_strategy  # noqa: E402
from lbdemo.balancer.upstream import UpstreamConnection  # noqa: E402

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
    b"X-Replica: r1\r\n\r\n{}"
)


class _Sink:
    """A transport that drops what is written."""

    def __init__(self, peer: tuple[str, int] | None = None) -> None:
        self.peer = peer

    def write(self, data: bytes) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.peer if name == "peername" else default

    def is_closing(self) -> bool:
        return False


class _Loop:
    def time(self) -> float:
        return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parser", action="store_true", help="a head the fast path declines")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=50_000, help="requests per round")
    args = parser.parse_args()
    config = BalancerConfig(upstreams=(Upstream("r1", "127.0.0.1", 9),), health_interval=0)
    replicas = ReplicaSet(config.upstreams)
    metrics = Metrics(lambda: replicas)
    ctx = ProxyContext(config, replicas, make_strategy("round-robin"), metrics, _Loop())  # type: ignore[arg-type]
    replica = replicas.members[0]
    upstream = UpstreamConnection(replica, ctx)
    upstream.connection_made(_Sink())  # type: ignore[arg-type]
    replica.give_back(upstream, 8)
    client = ClientConnection(ctx)
    client.connection_made(_Sink(("127.0.0.1", 40000)))  # type: ignore[arg-type]
    extra = b"Connection: keep-alive\r\n" if args.parser else b""
    request = b"GET /products/p1 HTTP/1.1\r\nHost: a\r\n" + extra + b"User-Agent: x\r\n\r\n"

    def run(n: int) -> float:
        began = time.process_time()
        for _ in range(n):
            client.data_received(request)
            upstream.data_received(RESPONSE)
        return (time.process_time() - began) / n * 1e6

    run(args.n // 2)  # warm-up
    results = [run(args.n) for _ in range(args.rounds)]
    if replica.requests != args.n // 2 + args.n * args.rounds or client._queue:
        print("requests were not all answered", file=sys.stderr)
        return 1
    path = "parser path" if args.parser else "fast path"
    print(
        f"{path}: median {statistics.median(results):.2f} µs/request, "
        f"min {min(results):.2f} ({args.rounds} x {args.n:,}, CPU time)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
