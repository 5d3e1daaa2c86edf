"""``python -m lbdemo.replica --name r1``: one replica process ("container").

Its store is ``--dsn URL``, else ``$LBDEMO_STORE_DSN`` (a password belongs in the environment,
not on a command line: see :func:`lbdemo.config.store_dsn_from_env`). Runs on the server skeleton
of :mod:`lbdemo.serving`: the ready line comes once it is connected to its store and listening.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lbdemo import serving
from lbdemo.config import STORE_DSN_ENV, store_dsn_from_env
from lbdemo.containers.names import validate_container_name
from lbdemo.errors import UsageError
from lbdemo.replica.app import ReplicaSettings, create_app, create_runner
from lbdemo.store.postgres import PostgresStore

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
    parser = serving.server_parser(PROG, "Run one lbdemo replica (a product catalogue).")
    parser.add_argument("--name", required=True, type=_container_name, help="sent as X-Replica")
    parser.add_argument(
        "--dsn",
        help=f"PostgreSQL URL of this replica's store (default: ${STORE_DSN_ENV}); every user "
        "of the machine can read a command line: keep a password in the environment "
        "($PGPASSWORD or the URL in that variable)",
    )
    parser.add_argument("--image", default="lbdemo/catalog:1.0")
    parser.add_argument("--pool-size", type=_pool_size, default=10, metavar="N")
    args = parser.parse_args(argv)
    args.dsn = args.dsn or store_dsn_from_env()
    if args.dsn is None:
        parser.error(f"no store: give --dsn URL or set ${STORE_DSN_ENV}")
    # Only the scheme is checked here (asyncpg also takes multi-host URLs); never echo the DSN,
    # it may hold a password.
    if not args.dsn.startswith(("postgresql://", "postgres://")):
        parser.error("the store DSN must be a postgresql:// URL")
    return args


class ReplicaServer:
    """Store first, then the HTTP server; shut down the other way round."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._store: PostgresStore | None = None
        self._http: serving.AppServer | None = None

    async def startup(self) -> dict[str, Any]:
        args = self.args
        try:
            self._store = await PostgresStore.connect(
                args.dsn, min_size=min(2, args.pool_size), max_size=args.pool_size
            )
        except (ValueError, OverflowError) as exc:  # asyncpg's word for a malformed DSN
            raise UsageError(f"invalid store DSN: {exc}") from None
        app = create_app(ReplicaSettings(name=args.name, image=args.image), self._store)
        host, port = args.listen
        # the replica's runner answers even aiohttp's own parse errors in JSON
        self._http = serving.AppServer(app, host, port, make_runner=create_runner)
        return {**await self._http.startup(), "name": args.name}

    async def shutdown(self) -> None:
        if self._http is not None:
            await self._http.shutdown()  # in-flight requests finish before the store closes
        if self._store is not None:
            await self._store.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return serving.serve(
        f"lbdemo.replica {args.name}",
        lambda: ReplicaServer(args),
        use_uvloop=not args.no_uvloop,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    sys.exit(main())
