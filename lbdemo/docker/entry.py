"""The lbdemo image's entry point: one image, two roles.

    replica [OPTIONS]   python -m lbdemo.replica listening on 0.0.0.0:8000, with /etc/catalog
                        and /var/log/catalog, named after the container's host name
    store [OPTIONS]     python -m lbdemo.store listening on 0.0.0.0:5432, with its data in
                        /var/lib/lbdemo/pgdata
    anything else       run as given (``docker run IMAGE lbdemo --version``)

A role's OPTIONS come after these defaults, so they win (argparse keeps the last): ``replica
--name lbdemo-r1``. Both roles take the store's password from the environment only
(``$LBDEMO_STORE_PASSWORD_FILE`` or ``$PGPASSWORD``), the replica its store from
``$LBDEMO_STORE_DSN``.

It runs as the container's first process: the role's own signal handling (SIGTERM from ``docker
stop``) applies unchanged, since the role runs in this very process.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable

from lbdemo.docker import contract


def _replica(argv: list[str]) -> int:
    from lbdemo.replica.__main__ import main

    defaults = [
        "--listen",
        f"0.0.0.0:{contract.REPLICA_PORT}",
        # a container's host name is its short id unless the runtime chose one
        "--name",
        socket.gethostname(),
        "--config-dir",
        contract.CATALOG_CONFIG_DIR,
        "--log-dir",
        contract.CATALOG_LOG_DIR,
    ]
    return main([*defaults, *argv])


def _store(argv: list[str]) -> int:
    from lbdemo.store.__main__ import main

    defaults = ["--listen", f"0.0.0.0:{contract.STORE_PORT}", "--pgdata", contract.PGDATA]
    return main([*defaults, *argv])


ROLES: dict[str, Callable[[list[str]], int]] = {"replica": _replica, "store": _store}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(f"lbdemo image: give a role ({', '.join(ROLES)}) or a command", file=sys.stderr)
        return 2
    role = ROLES.get(args[0])
    if role is not None:
        return role(args[1:])
    try:
        os.execvp(args[0], args)
    except OSError as exc:
        print(f"lbdemo image: cannot run {args[0]!r}: {exc.strerror or exc}", file=sys.stderr)
        return 127
    return 127  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())
