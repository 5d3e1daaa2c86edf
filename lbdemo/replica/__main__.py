"""``python -m lbdemo.replica --name r1 --dsn postgresql://...``: one replica process ("container").

Prints the ready line (see :mod:`lbdemo.serving`) once it is connected to its store and listening.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from aiohttp import web

from lbdemo import serving
from lbdemo.errors import LbdemoError
from lbdemo.replica.app import ReplicaSettings, create_app
from lbdemo.replica.catalog_config import LOG_FILE, CatalogConfigSource
from lbdemo.store.postgres import PostgresStore


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lbdemo.replica")
    parser.add_argument("--name", required=True, help="replica name, sent as X-Replica")
    parser.add_argument("--dsn", required=True, help="PostgreSQL URL of this replica's store")
    parser.add_argument("--listen", default="127.0.0.1:0", type=serving.parse_listen)
    parser.add_argument("--image", default="lbdemo/catalog:1.0")
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--config-dir", type=Path, help="host path of its /etc/catalog")
    parser.add_argument("--log-dir", type=Path, help="host path of its /var/log/catalog")
    return parser.parse_args(argv)


def setup_logging(log_dir: Path | None) -> None:
    """Lines on stderr (the container's output, ``lbdemo logs``) and, with a log directory,
    in ``catalog.log`` there: a plain file on the host when a bind mount puts it there."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_dir is not None:
        handlers.append(logging.FileHandler(log_dir / LOG_FILE, encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO, handlers=handlers, force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )  # fmt: skip


async def serve(args: argparse.Namespace) -> int:
    stop = serving.stop_event_on_signals()
    log = logging.getLogger("lbdemo.replica")
    catalog = CatalogConfigSource(args.config_dir, args.image)
    # SIGHUP rereads /etc/catalog (``lbdemo kill -s HUP``), instead of ending the process.
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, catalog.reload)
    log.info("%s (%s) config %s: %s", args.name, args.image, args.config_dir or "built-in",
             catalog.current.describe())  # fmt: skip
    store = await PostgresStore.connect(args.dsn, max_size=args.pool_size)
    app = create_app(ReplicaSettings(name=args.name, image=args.image, catalog=catalog), store)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        host, port = args.listen
        site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
        await site.start()
        bound = runner.addresses[0]
        serving.announce_ready(url=f"http://{bound[0]}:{bound[1]}", name=args.name)
        log.info("listening on http://%s:%s", bound[0], bound[1])
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()  # lets in-flight requests finish, then closes connections
        await store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_dir)
    try:
        return serving.run(serve(args))
    except LbdemoError as exc:
        print(f"replica {args.name}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
