"""The benchmark's replica: ``GET /`` answers a few bytes with ``X-Replica``; nothing else.

Run as ``python -m lbdemo.bench.replica --name r1 --port 0``; prints one JSON ready line.
It is deliberately trivial so the numbers measure the proxies, not the replicas.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

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


async def serve(name: str, host: str, port: int) -> None:
    runner = web.AppRunner(create_app(name), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound = int(runner.addresses[0][1])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"event": "ready", "url": f"http://{host}:{bound}", "pid": os.getpid()}))
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lbdemo.bench.replica")
    parser.add_argument("--name", default="r1")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.name, args.host, args.port))
    else:
        uvloop.run(serve(args.name, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
