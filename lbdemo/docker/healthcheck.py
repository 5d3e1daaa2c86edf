"""``python -m lbdemo.docker.healthcheck replica|store|balancer``: is this container serving?

Run inside the container by compose.yaml's ``healthcheck`` and by the Kubernetes manifests' exec
probes: exit status 0 when the role answers, 1 with one line on stderr saying why when it does not
(yet), 2 for a command line it does not understand.

* replica: ``GET /healthz`` on 127.0.0.1 answers 200.
* balancer: the same through the balancer (on :data:`BALANCER_PORT`, where compose.yaml and the
  Kubernetes manifests have it listen): it listens, and a replica behind it answers.
* store: a login with the password from the environment (the same variables the store read) and
  ``SELECT 1``. A port that accepts connections is not enough: PostgreSQL accepts them while it
  is still starting and refuses every query, and a replica started then would exit.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.error
import urllib.request

from lbdemo.config import store_password_from_env
from lbdemo.docker import contract
from lbdemo.errors import UsageError

PROG = "python -m lbdemo.docker.healthcheck"
TIMEOUT_S = 3.0


class Unhealthy(Exception):
    """The role does not answer as it should; the message says how."""


def check_http(port: int) -> None:
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        raise Unhealthy(f"{url}: {getattr(exc, 'reason', None) or exc}") from None
    if status != 200:
        raise Unhealthy(f"{url} answered HTTP {status}")


async def check_store(port: int) -> None:
    import asyncpg  # only the store's check needs it

    from lbdemo.store.embedded import SUPERUSER

    try:
        password = store_password_from_env()
    except UsageError as exc:
        raise Unhealthy(str(exc)) from None
    try:
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=port,
            user=SUPERUSER,
            database="postgres",
            password=password,
            timeout=TIMEOUT_S,
            command_timeout=TIMEOUT_S,
        )
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise Unhealthy(f"PostgreSQL on 127.0.0.1:{port}: {exc}") from None


BALANCER_PORT = 8080
ROLES = {"replica": contract.REPLICA_PORT, "store": contract.STORE_PORT, "balancer": BALANCER_PORT}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="Is this container's role serving?")
    parser.add_argument("role", choices=sorted(ROLES))
    parser.add_argument("--port", type=int, default=None, help="default: the role's own port")
    args = parser.parse_args(argv)
    if args.port is not None and not 1 <= args.port <= 65535:
        parser.error(f"--port must be from 1 to 65535, got {args.port}")
    port = args.port or ROLES[args.role]
    try:
        if args.role == "store":
            asyncio.run(check_store(port))
        else:
            check_http(port)
    except Unhealthy as exc:
        print(f"{args.role}: unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
