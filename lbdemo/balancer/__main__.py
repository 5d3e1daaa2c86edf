"""``python -m lbdemo.balancer``: run one balancer until SIGTERM/SIGINT.

Runs on the server skeleton of :mod:`lbdemo.process.serve` (loop, signals, the ready line).
The ready line also gives ``admin_url`` and, when this process made the admin token up,
``admin_token``.
"""

from __future__ import annotations

import argparse
import gc
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from lbdemo.balancer.config import STRATEGIES, BalancerConfig, parse_upstream
from lbdemo.balancer.native import data_path_kind
from lbdemo.balancer.server import Balancer
from lbdemo.config import ADMIN_TOKEN_ENV, admin_token_from_env
from lbdemo.errors import UsageError
from lbdemo.process.options import hostport_argument, server_parser
from lbdemo.process.serve import serve

NAME = "lbdemo.balancer"


def build_parser() -> argparse.ArgumentParser:
    p = server_parser("python -m lbdemo.balancer", "Run the lbdemo load balancer.")
    p.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a replica, e.g. r1=http://127.0.0.1:8001 (repeatable)",
    )
    p.add_argument(
        "--discover",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="replicas by DNS: one per address URL's host resolves to, named NAME-ADDRESS, "
        "e.g. replica=http://tasks.replica:8000 (repeatable)",
    )
    p.add_argument(
        "--discover-interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how often --discover looks its names up again",
    )
    p.add_argument("--strategy", choices=STRATEGIES, default="round-robin")
    p.add_argument("--sticky-header", default="X-Client-Id")
    p.add_argument("--sticky-cookie", default=None)
    p.add_argument(
        "--admin",
        default=None,
        type=hostport_argument,
        metavar="HOST:PORT",
        help="admin API address",
    )
    p.add_argument(
        "--admin-token", default=None, help=f"admin bearer token (or ${ADMIN_TOKEN_ENV})"
    )
    p.add_argument("--health-interval", type=float, default=2.0, help="0 turns checks off")
    p.add_argument("--health-path", default="/healthz")
    p.add_argument("--max-body", type=int, default=1024**3, metavar="BYTES")
    p.add_argument("--upstream-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--client-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--head-timeout", type=float, default=10.0, metavar="SECONDS")
    p.add_argument("--max-connections", type=int, default=1024, metavar="N")
    p.add_argument(
        "--max-connections-per-client",
        type=int,
        default=1000,
        metavar="N",
        help="of --max-connections, how many one client address may hold",
    )
    return p


def config_from_args(args: argparse.Namespace, token: str | None) -> BalancerConfig:
    host, port = args.listen
    admin_host, admin_port = args.admin or (None, 0)
    return BalancerConfig(
        upstreams=tuple(parse_upstream(s) for s in args.upstream),
        discover=tuple(parse_upstream(s, "--discover") for s in args.discover),
        discover_interval=args.discover_interval,
        listen_host=host,
        listen_port=port,
        strategy=args.strategy,
        sticky_header=args.sticky_header,
        sticky_cookie=args.sticky_cookie,
        admin_host=admin_host,
        admin_port=admin_port,
        admin_token=token if admin_host else None,
        health_interval=args.health_interval,
        health_path=args.health_path,
        max_body_bytes=args.max_body,
        upstream_timeout=args.upstream_timeout,
        client_timeout=args.client_timeout,
        head_timeout=args.head_timeout,
        max_connections=args.max_connections,
        max_connections_per_client=args.max_connections_per_client,
    )


class BalancerServer:
    """The balancer on the server skeleton."""

    def __init__(self, config: BalancerConfig, generated_token: str | None) -> None:
        self.balancer = Balancer(config)
        self.generated_token = generated_token

    async def startup(self) -> dict[str, Any]:
        await self.balancer.start()
        # Everything allocated so far lives as long as the process: keep the collector from
        # walking it again and again (a full collection of it would be a latency spike).
        gc.freeze()
        ready: dict[str, Any] = {
            "url": self.balancer.url,
            "admin_url": self.balancer.admin_url,
            # "compiled" when $LBDEMO_COMPILED named a build of these sources (native.py).
            "data_path": data_path_kind(),
        }
        if self.generated_token is not None and self.balancer.admin_url is not None:
            ready["admin_token"] = self.generated_token
            print(f"admin token: {self.generated_token}", file=sys.stderr, flush=True)
        return ready

    async def shutdown(self) -> None:
        await self.balancer.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    token = args.admin_token or admin_token_from_env()
    generated = None
    if args.admin and token is None:
        token = generated = secrets.token_urlsafe(24)
    try:
        config = config_from_args(args, token)
    except UsageError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return 2
    return serve(
        NAME,
        lambda: BalancerServer(config, generated),
        use_uvloop=not args.no_uvloop,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    sys.exit(main())
