"""The lbdemo image's entry point: one image, three roles.

    replica [OPTIONS]   python -m lbdemo.replica listening on 0.0.0.0:8000, with /etc/catalog
                        and /var/log/catalog, named after the container's host name
    store [OPTIONS]     python -m lbdemo.store listening on 0.0.0.0:5432, with its data in
                        /var/lib/lbdemo/pgdata
    private-replica [OPTIONS]
                        private storage in one container: a store on 127.0.0.1:5432 (its data
                        in the container's layer) as a child, then the replica on it
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
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO

from lbdemo.config import STORE_DSN_ENV
from lbdemo.docker import contract
from lbdemo.process.ready import parse_ready_line

# How long the store child may take to stop after the replica did.
STORE_STOP_S = 10.0


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


def _private_replica(argv: list[str]) -> int:
    """A replica with a store of its own in the same container: private storage for an
    orchestrator whose unit is one container (a Docker swarm task), where a per-replica store
    container could not be paired with its replica. The store listens on loopback only; when the
    replica has stopped, the store gets SIGTERM (PostgreSQL's fast shutdown)."""
    store = subprocess.Popen(_private_store_argv(), stdout=subprocess.PIPE)
    try:
        assert store.stdout is not None
        if not _until_ready(store.stdout):
            print(f"lbdemo image: the store exited (status {store.wait()})", file=sys.stderr)
            return 1
        # the rest of its stdout to ours: a pipe nobody reads would stop it once full
        threading.Thread(target=_copy_lines, args=(store.stdout,), daemon=True).start()
        os.environ[STORE_DSN_ENV] = (
            f"postgresql://postgres@127.0.0.1:{contract.STORE_PORT}/postgres"
        )
        return _replica(argv)
    finally:
        store.terminate()
        try:
            store.wait(STORE_STOP_S)
        except subprocess.TimeoutExpired:
            store.kill()
            store.wait()


def _private_store_argv() -> list[str]:
    """The store role again, as a child, on the container's loopback only."""
    role = [sys.executable, "-m", "lbdemo.docker.entry", "store"]
    return [*role, "--listen", f"127.0.0.1:{contract.STORE_PORT}"]


def _until_ready(lines: IO[bytes]) -> bool:
    """True once the store's ready line came (its earlier lines echoed), False at its end."""
    for line in lines:
        if parse_ready_line(line) is not None:
            return True
        sys.stdout.buffer.write(line)
    return False


def _copy_lines(lines: IO[bytes]) -> None:
    for line in lines:
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()


ROLES: dict[str, Callable[[list[str]], int]] = {
    "replica": _replica,
    "store": _store,
    "private-replica": _private_replica,
}


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
