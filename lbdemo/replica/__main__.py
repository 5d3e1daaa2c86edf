"""``python -m lbdemo.replica --name r1 --dsn postgresql://...``: one replica process ("container").

Prints the ready line (see :mod:`lbdemo.serving`) once it is connected to its store and listening.
"""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

from lbdemo import serving
from lbdemo.errors import LbdemoError
from lbdemo.replica.app import ReplicaSettings, create_app, create_runner
from lbdemo.store.postgres import PostgresStore


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lbdemo.replica")
    parser.add_argument("--name", required=True, help="replica name, sent as X-Replica")
    parser.add_argument("--dsn", required=True, help="PostgreSQL URL of this replica's store")
    parser.add_argument("--listen", default="127.0.0.1:0", type=serving.parse_listen)
    parser.add_argument("--image", default="lbdemo/catalog:1.0")
    parser.add_argument("--pool-size", type=int, default=10)
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> int:
    stop = serving.stop_event_on_signals()
    store = await PostgresStore.connect(args.dsn, max_size=args.pool_size)
    app = create_app(ReplicaSettings(name=args.name, image=args.image), store)
    runner = create_runner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        host, port = args.listen
        site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
        await site.start()
        bound = runner.addresses[0]
        serving.announce_ready(url=f"http://{bound[0]}:{bound[1]}", name=args.name)
        await stop.wait()
    finally:
        await runner.cleanup()  # lets in-flight requests finish, then closes connections
        await store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return serving.run(serve(args))
    except LbdemoError as exc:
        print(f"replica {args.name}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
