"""Where lbdemo keeps its state, and the only module that reads environment variables.

The state root holds everything lbdemo writes on its own (laid out like ``/var/lib/docker``)::

    <state>/
      containers/<id>/config.json   one container record (name, image, mounts, state)
      containers/<id>/layer/        its writable container layer (private PostgreSQL data)
      volumes/<name>/_data          a named volume's data (the shared PostgreSQL data)
      run/                          pid files, sockets and logs of a running stack

It is ``--state DIR``, else ``$LBDEMO_STATE``, else ``.lbdemo`` in the working directory.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

STATE_ENV = "LBDEMO_STATE"
DEFAULT_STATE_DIR = ".lbdemo"


def add_state_argument(parser: argparse.ArgumentParser) -> None:
    """Give a subcommand the common ``--state DIR`` option."""
    parser.add_argument(
        "--state",
        metavar="DIR",
        default=None,
        help=f"state root (default: ${STATE_ENV}, else ./{DEFAULT_STATE_DIR})",
    )


def state_root(args: argparse.Namespace) -> Path:
    """The absolute state root for a parsed command line (the directory may not exist yet)."""
    chosen = getattr(args, "state", None) or os.environ.get(STATE_ENV) or DEFAULT_STATE_DIR
    return Path(chosen).expanduser().resolve()


ADMIN_TOKEN_ENV = "LBDEMO_ADMIN_TOKEN"


def admin_token_from_env() -> str | None:
    """The balancer admin token the user chose, if any (else one is generated)."""
    return os.environ.get(ADMIN_TOKEN_ENV) or None


STORE_DSN_ENV = "LBDEMO_STORE_DSN"


def store_dsn_from_env() -> str | None:
    """A replica's store DSN from ``$LBDEMO_STORE_DSN``, for when ``--dsn`` is not given.

    A DSN holding a password must stay off the command line, which every user of the machine
    can read; the password may also come alone from ``$PGPASSWORD``, which asyncpg reads itself.
    """
    return os.environ.get(STORE_DSN_ENV) or None
