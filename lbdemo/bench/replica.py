"""The benchmark's replica: ``GET /`` answers a few bytes with ``X-Replica``; nothing else.

Run as ``python -m lbdemo.bench.replica --name r1 [--listen 127.0.0.1:0]``, on the server
skeleton of :mod:`lbdemo.process.serve` (it prints the ready line). It is deliberately trivial
so the numbers measure the proxies, not the replicas.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from aiohttp import web

from lbdemo.process.options import server_parser
from lbdemo.process.serve import AppServer, serve

NAME_KEY = web.AppKey("name", str)


async def hello(request: web.Request) -> web.Response:
    return web.Response(body=b"hello\n", headers={"X-Replica": request.app[NAME_KEY]})


async def healthz(request: web.Request) -> web.Response:
    return web.Response(body=b"ok\n")


def create_app(name: str) -> web.Application:
    app = web.Application()
    app[NAME_KEY] = name
    app.router.add_get("/", hello)
    app.router.add_get("/healthz", healthz)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = server_parser("python -m lbdemo.bench.replica", "Run one bench replica.")
    parser.add_argument("--name", default="r1", help="sent as X-Replica")
    args = parser.parse_args(argv)
    if not args.name.isascii() or not args.name.isalnum():
        parser.error(f"--name must be ASCII letters and digits, got {args.name!r}")
    host, port = args.listen
    return serve(
        f"lbdemo.bench.replica {args.name}",
        lambda: AppServer(create_app(args.name), host, port),
        use_uvloop=not args.no_uvloop,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    sys.exit(main())
