"""``python -m lbdemo.store --pgdata DIR``: one PostgreSQL server in the foreground.

What the lbdemo image's ``store`` role runs (``--listen 0.0.0.0:5432``, data in
``/var/lib/lbdemo/pgdata``): in a container's writable layer that is private storage, on a named
volume shared storage. It is :class:`~lbdemo.store.embedded.EmbeddedPostgres`, so the same rules
hold: initdb when ``DIR`` holds no cluster, the password set as a SCRAM verifier before the
server listens, ``pg_hba.conf`` rewritten at every start to demand it (any address when
listening beyond loopback, never ``trust``).

The password comes from the environment, never the command line: the file
``$LBDEMO_STORE_PASSWORD_FILE`` names (a mounted secret), else ``$PGPASSWORD``; without one the
server does not start. PostgreSQL's log is copied to stderr (``docker logs``).

SIGTERM (``docker stop``) or SIGINT: PostgreSQL's fast shutdown, exit status 0. PostgreSQL dying
on its own: exit status 1, so a restart policy sees the death.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

from lbdemo.config import PGPASSWORD_ENV, STORE_PASSWORD_FILE_ENV, store_password_from_env
from lbdemo.errors import ProcessError, UsageError
from lbdemo.process.options import server_parser
from lbdemo.process.serve import serve
from lbdemo.store.embedded import SUPERUSER, EmbeddedPostgres

PROG = "python -m lbdemo.store"
LOG_POLL_S = 0.2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = server_parser(PROG, "Run one PostgreSQL server in the foreground.")
    parser.add_argument(
        "--pgdata",
        type=Path,
        required=True,
        metavar="DIR",
        help="its data directory (initdb when it holds no cluster)",
    )
    args = parser.parse_args(argv)
    try:
        args.password = store_password_from_env()
    except UsageError as exc:
        parser.error(str(exc))
    if args.password is None:
        parser.error(
            f"no password: set ${STORE_PASSWORD_FILE_ENV} to a file holding it, "
            f"or ${PGPASSWORD_ENV}"
        )
    return args


class StoreServer:
    """The server as :mod:`lbdemo.process.serve` runs one: started, watched, stopped."""

    def __init__(self, args: argparse.Namespace) -> None:
        host, self.port = args.listen
        self.postgres = EmbeddedPostgres(
            args.pgdata.resolve(), password=args.password, listen_host=host
        )
        self._echo: asyncio.Task[None] | None = None

    async def startup(self) -> dict[str, Any]:
        log = self.postgres.log_file
        # Only what this start writes is echoed: a restarted container keeps its older lines.
        offset = log.stat().st_size if log.exists() else 0
        self._echo = asyncio.create_task(_echo_log(log, offset))
        info = await self.postgres.start(self.port or None)
        host = self.postgres.listen_host
        return {
            "url": f"postgresql://{SUPERUSER}@{host}:{info.port}/postgres",
            "pgdata": str(info.pgdata),
            "postgres_pid": info.pid,
        }

    async def until_failed(self) -> None:
        """Return only by raising: PostgreSQL exited without being asked to."""
        process = self.postgres.process
        if process is None:
            raise ProcessError("PostgreSQL is not running")
        status = await process.wait()
        raise ProcessError(f"PostgreSQL exited on its own (status {status})")

    async def shutdown(self) -> None:
        await self.postgres.stop()
        if self._echo is not None:
            await asyncio.sleep(LOG_POLL_S)  # its last lines (the shutdown) reach stderr too
            self._echo.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._echo


async def _echo_log(path: Path, offset: int) -> None:
    """Copy what is appended to ``path`` from ``offset`` on to stderr, until cancelled.

    The server writes to a file it owns rather than to our stderr: a container's stderr is a
    pipe that belongs to root, which the server's log setup (it chmods its log) may not touch.
    """
    while True:
        with contextlib.suppress(OSError):
            if path.stat().st_size < offset:
                offset = 0  # replaced or truncated: from its start
            with path.open("rb") as log:
                log.seek(offset)
                chunk = log.read()
            if chunk:
                offset += len(chunk)
                sys.stderr.buffer.write(chunk)
                sys.stderr.buffer.flush()
        await asyncio.sleep(LOG_POLL_S)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return serve(
        "lbdemo.store",
        lambda: StoreServer(args),
        # asyncio's own loop: the supervising side, whose subprocesses may need user=/group=
        use_uvloop=False,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    sys.exit(main())
