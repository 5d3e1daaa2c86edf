"""``python -m lbdemo.replica --name r1``: one replica process ("container").

Its store is ``--dsn URL``, else ``$LBDEMO_STORE_DSN`` (a password belongs in the environment,
not on a command line: see :func:`lbdemo.config.store_dsn_from_env`). The URL's scheme names the
store kind (``postgresql://``, ``redis://``, ``etcd://``: :mod:`lbdemo.store.factory`). The
password: the file ``$LBDEMO_STORE_PASSWORD_FILE`` names (a container's mounted secret), else the
DSN's, else ``$PGPASSWORD``. With ``$LBDEMO_READ_DSN`` (a replicated layout: its own streaming
standby, or its own Redis replica) its reads go there and its writes to the first. The ready
line names the store kind and read mode (``stack.json``, ``lbdemo get --each-replica``).
Runs on the server skeleton of :mod:`lbdemo.process.serve`: the ready line comes once it is
connected to its store and listening.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from lbdemo.config import (
    PGPASSWORD_ENV,
    READ_DSN_ENV,
    STORE_DSN_ENV,
    store_dsn_from_env,
    store_password_file_from_env,
)
from lbdemo.containers.names import validate_container_name
from lbdemo.errors import UsageError
from lbdemo.process.options import server_parser
from lbdemo.process.serve import AppServer, serve
from lbdemo.replica.app import ReplicaSettings, create_app, create_runner
from lbdemo.replica.catalog_config import LOG_FILE, CatalogConfigSource
from lbdemo.store.base import Store
from lbdemo.store.factory import describe_store, open_store, store_kind

PROG = "python -m lbdemo.replica"


def _container_name(value: str) -> str:
    # The name is sent in every X-Replica header: Docker's rule for container names keeps it plain.
    try:
        return validate_container_name(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pool_size(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 1000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 1000, got {value!r}")
    return int(value)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = server_parser(PROG, "Run one lbdemo replica (a product catalogue).")
    parser.add_argument("--name", required=True, type=_container_name, help="sent as X-Replica")
    parser.add_argument(
        "--dsn",
        help=f"URL of this replica's store: postgresql://, redis:// or etcd:// "
        f"(default: ${STORE_DSN_ENV}); every user "
        "of the machine can read a command line: keep a password in the environment "
        "($PGPASSWORD or the URL in that variable)",
    )
    parser.add_argument("--image", default="lbdemo/catalog:1.0")
    parser.add_argument("--pool-size", type=_pool_size, default=10, metavar="N")
    parser.add_argument("--config-dir", type=Path, help="host path of its /etc/catalog")
    parser.add_argument("--log-dir", type=Path, help="host path of its /var/log/catalog")
    args = parser.parse_args(argv)
    args.dsn = args.dsn or store_dsn_from_env()
    if args.dsn is None:
        parser.error(f"no store: give --dsn URL or set ${STORE_DSN_ENV}")
    # Only the scheme is checked here (asyncpg also takes multi-host URLs); never echo the DSN,
    # it may hold a password.
    try:
        kind = store_kind(args.dsn)
        args.password = store_password_file_from_env()
    except UsageError as exc:
        parser.error(str(exc))
    if kind != "postgres" and args.password is None:
        # asyncpg reads PGPASSWORD itself; the other engines' clients are handed it
        args.password = os.environ.get(PGPASSWORD_ENV) or None
    args.read_dsn = os.environ.get(READ_DSN_ENV) or None
    if args.read_dsn is not None:
        try:
            read_kind = store_kind(args.read_dsn)
        except UsageError:
            read_kind = ""
        if read_kind != kind:
            parser.error(f"${READ_DSN_ENV} must be a URL of the same store kind as the store's")
    return args


class ReplicaServer:
    """Store first, then the HTTP server; shut down the other way round."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._store: Store | None = None
        self._http: AppServer | None = None

    async def startup(self) -> dict[str, Any]:
        args = self.args
        log = _replica_log(args.log_dir)
        catalog = CatalogConfigSource(args.config_dir, args.image)
        # SIGHUP rereads /etc/catalog (``lbdemo kill -s HUP``), instead of ending the process.
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, catalog.reload)
        log.info(
            "%s (%s) config %s: %s",
            args.name,
            args.image,
            args.config_dir or "built-in",
            catalog.current.describe(),
        )
        # the factory picks the engine's client by the URL's scheme; the handlers never know
        self._store = await open_store(
            args.dsn, read_url=args.read_dsn, password=args.password, pool_size=args.pool_size
        )
        settings = ReplicaSettings(name=args.name, image=args.image, catalog=catalog)
        app = create_app(settings, self._store)
        host, port = args.listen
        # the replica's runner answers even aiohttp's own parse errors in JSON
        self._http = AppServer(app, host, port, make_runner=create_runner)
        ready = await self._http.startup()
        log.info("listening on %s", ready["url"])
        return {**ready, "name": args.name, **describe_store(args.dsn, args.read_dsn)}

    async def shutdown(self) -> None:
        if self._http is not None:
            await self._http.shutdown()  # in-flight requests finish before the store closes
        if self._store is not None:
            await self._store.close()


def _replica_log(log_dir: Path | None) -> logging.Logger:
    """The replica's own lines at INFO: on stderr (the container's output, ``lbdemo logs``) and,
    with a log directory, in ``catalog.log`` there: a plain file on the host when a bind mount
    puts it there."""
    log = logging.getLogger("lbdemo.replica")
    log.setLevel(logging.INFO)
    if log_dir is not None:
        handler = logging.FileHandler(log_dir / LOG_FILE, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
    return log


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return serve(
        f"lbdemo.replica {args.name}",
        lambda: ReplicaServer(args),
        use_uvloop=not args.no_uvloop,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    sys.exit(main())
