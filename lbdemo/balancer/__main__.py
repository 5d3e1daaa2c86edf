"""``python -m lbdemo.balancer``: run one balancer until SIGTERM/SIGINT.

When it listens it prints one JSON line to stdout (``{"event": "ready", ...}``) for the
supervisor. This entry point, like the CLI, is where the environment is read.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import secrets
import signal
import sys
from collections.abc import Sequence

from lbdemo.balancer.config import STRATEGIES, BalancerConfig, parse_hostport, parse_upstream
from lbdemo.balancer.server import Balancer
from lbdemo.errors import LbdemoError, UsageError

TOKEN_ENV = "LBDEMO_ADMIN_TOKEN"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m lbdemo.balancer", description="Run the lbdemo load balancer.")
    p.add_argument("--listen", default="127.0.0.1:0", metavar="HOST:PORT")
    p.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a replica, e.g. r1=http://127.0.0.1:8001 (repeatable)",
    )
    p.add_argument("--strategy", choices=STRATEGIES, default="round-robin")
    p.add_argument("--sticky-header", default="X-Client-Id")
    p.add_argument("--sticky-cookie", default=None)
    p.add_argument("--admin", default=None, metavar="HOST:PORT", help="admin API address")
    p.add_argument("--admin-token", default=None, help=f"admin bearer token (or ${TOKEN_ENV})")
    p.add_argument("--health-interval", type=float, default=2.0, help="0 turns checks off")
    p.add_argument("--health-path", default="/healthz")
    p.add_argument("--max-body", type=int, default=1024**3, metavar="BYTES")
    p.add_argument("--upstream-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--client-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--head-timeout", type=float, default=10.0, metavar="SECONDS")
    p.add_argument("--max-connections", type=int, default=1024, metavar="N")
    p.add_argument("--no-uvloop", action="store_true", help="use asyncio's default event loop")
    p.add_argument("--log-level", default="WARNING")
    return p


def config_from_args(args: argparse.Namespace, token: str | None) -> BalancerConfig:
    host, port = parse_hostport(args.listen, "--listen")
    admin_host, admin_port = (None, 0)
    if args.admin:
        admin_host, admin_port = parse_hostport(args.admin, "--admin")
    return BalancerConfig(
        upstreams=tuple(parse_upstream(s) for s in args.upstream),
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
    )


async def serve(config: BalancerConfig, generated_token: str | None) -> int:
    balancer = Balancer(config)
    await balancer.start()
    # Everything allocated so far lives as long as the process: keep the collector from
    # walking it again and again (a full collection of it would be a latency spike).
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ready: dict[str, object] = {
        "event": "ready",
        "url": balancer.url,
        "admin_url": balancer.admin_url,
        "pid": os.getpid(),
    }
    if generated_token is not None and balancer.admin_url is not None:
        ready["admin_token"] = generated_token
        print(f"admin token: {generated_token}", file=sys.stderr, flush=True)
    print(json.dumps(ready), flush=True)
    try:
        await stop.wait()
    finally:
        await balancer.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    token = args.admin_token or os.environ.get(TOKEN_ENV) or None
    generated = None
    if args.admin and token is None:
        token = generated = secrets.token_urlsafe(24)
    try:
        config = config_from_args(args, token)
        if args.no_uvloop:
            return asyncio.run(serve(config, generated))
        try:
            import uvloop
        except ImportError:
            return asyncio.run(serve(config, generated))
        return uvloop.run(serve(config, generated))
    except UsageError as exc:
        print(f"lbdemo.balancer: error: {exc}", file=sys.stderr)
        return 2
    except LbdemoError as exc:
        print(f"lbdemo.balancer: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
