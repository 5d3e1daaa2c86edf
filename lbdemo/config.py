"""Where lbdemo keeps its state, and the only module that reads lbdemo's environment variables
(child processes are given the environment whole; nothing else looks into it).

The state root holds everything lbdemo writes on its own (laid out like ``/var/lib/docker``)::

    <state>/
      containers/<id>/config.json   one container record (name, image, mounts, state)
      containers/<id>/layer/        its writable container layer (private PostgreSQL data)
      volumes/<name>/_data          a named volume's data (the shared PostgreSQL data)
      run/                          pid files, sockets and logs of a running stack
      secrets/                      the embedded PostgreSQL servers' password (owner-only)
      cache/postgres-initdb/        a fresh cluster, copied for each new data directory

It is ``--state DIR``, else ``$LBDEMO_STATE``, else ``.lbdemo`` in the working directory.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from lbdemo.errors import UsageError

STATE_ENV = "LBDEMO_STATE"
DEFAULT_STATE_DIR = ".lbdemo"
# Under the state root: builds of the balancer's compiled data path (lbdemo compile).
COMPILED_DIR = "compiled"


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
    return _state_root(getattr(args, "state", None))


def _state_root(given: str | None) -> Path:
    """``--state`` as given, else ``$LBDEMO_STATE``, else ``./.lbdemo``; absolute."""
    chosen = given or os.environ.get(STATE_ENV) or DEFAULT_STATE_DIR
    return Path(chosen).expanduser().resolve()


# -- `up` takes the state root's stack lock at its first instant --------------------------------
#
# `down` stops whoever holds run/stack.lock (lbdemo/commands/up.py). So that a `down` during an
# `up`'s start-up finds it, `up` takes the lock before anything else (before the imports of
# every command, seconds on a loaded machine); the stack's own StackLock.acquire adopts that
# descriptor, and `up -d` hands it to its background process, through this variable.
STACK_LOCK_FD_ENV = "LBDEMO_STACK_LOCK_FD"
_early_claim: tuple[int, Path, list[Path]] | None = None  # descriptor, run/, directories made


def _state_in_argv(argv: Sequence[str]) -> str | None:
    for i, word in enumerate(argv):
        if word == "--state" and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith("--state="):
            return word.removeprefix("--state=")
    return None


def claim_stack_lock_early(argv: Sequence[str]) -> None:
    """For ``up``: take ``<state>/run/stack.lock`` now, if nobody holds it (when somebody does,
    the stack's own acquire refuses in one line later). Anything that fails here is left to
    the usual path, which says it in one line."""
    global _early_claim
    if not argv or argv[0] != "up" or STACK_LOCK_FD_ENV in os.environ:
        return
    run = _state_root(_state_in_argv(argv)) / "run"
    made = [d for d in (run.parent, run) if not d.exists()]
    try:
        run.mkdir(parents=True, exist_ok=True)
        fd = os.open(run / "stack.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    os.environ[STACK_LOCK_FD_ENV] = str(fd)
    _early_claim = (fd, run, made)


def release_early_claim() -> None:
    """When the command ends: a lock claimed early that nothing adopted (``up`` refused its
    options, say) is closed, and what was made for it removed: nothing changed."""
    global _early_claim
    if _early_claim is None:
        return
    fd, run, made = _early_claim
    _early_claim = None
    if os.environ.get(STACK_LOCK_FD_ENV) != str(fd):
        return  # adopted: the stack (or `up -d`'s background process) owns it now
    del os.environ[STACK_LOCK_FD_ENV]
    if made:
        with contextlib.suppress(OSError):
            (run / "stack.lock").unlink()
        for directory in reversed(made):
            with contextlib.suppress(OSError):
                directory.rmdir()  # only if empty: never what another command wrote
    os.close(fd)


def take_stack_lock_fd(path: Path) -> int | None:
    """The descriptor of the lock at ``path`` that this process was handed (claimed early, or
    passed by ``up -d``), taken out of the environment so that no later child takes it for its
    own; None when there is none, or it is not that file."""
    raw = os.environ.pop(STACK_LOCK_FD_ENV, None)
    if raw is None:
        return None
    try:
        fd = int(raw)
        mine, wanted = os.fstat(fd), os.stat(path)
    except (ValueError, OSError):
        return None
    return fd if (mine.st_dev, mine.st_ino) == (wanted.st_dev, wanted.st_ino) else None


ADMIN_TOKEN_ENV = "LBDEMO_ADMIN_TOKEN"


def admin_token_from_env() -> str | None:
    """The balancer admin token the user chose, if any (else one is generated)."""
    return os.environ.get(ADMIN_TOKEN_ENV) or None


STORE_DSN_ENV = "LBDEMO_STORE_DSN"


# The replicated layouts: a second store, the replica's own standby, that serves its reads.
READ_DSN_ENV = "LBDEMO_READ_DSN"


# A file holding the store's password: how a container is handed it (a bind-mounted secret such
# as /run/secrets/pgpassword), so it is in neither the command line nor `docker inspect`.
STORE_PASSWORD_FILE_ENV = "LBDEMO_STORE_PASSWORD_FILE"
# libpq's own variable, which asyncpg reads too when neither a DSN nor a caller gives a password.
PGPASSWORD_ENV = "PGPASSWORD"


def store_password_file_from_env() -> str | None:
    """The password in the file ``$LBDEMO_STORE_PASSWORD_FILE`` names, or None when it is unset.

    Raises UsageError (naming the variable, never the content) when the file cannot be read or
    holds nothing."""
    path = os.environ.get(STORE_PASSWORD_FILE_ENV)
    if not path:
        return None
    try:
        password = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"cannot read ${STORE_PASSWORD_FILE_ENV} ({path}): {reason}") from None
    if not password:
        raise UsageError(f"${STORE_PASSWORD_FILE_ENV} ({path}) is empty")
    return password


def store_password_from_env() -> str | None:
    """The password a server must be given: the file's, else ``$PGPASSWORD``; None if neither."""
    return store_password_file_from_env() or os.environ.get(PGPASSWORD_ENV) or None


def store_dsn_from_env() -> str | None:
    """A PostgreSQL URL given through the environment rather than a command line, where every
    local user could read it (a password in it included)."""
    return os.environ.get(STORE_DSN_ENV) or None


# The base image the project's image builds on (`lbdemo image build --base` wins over it).
IMAGE_BASE_ENV = "LBDEMO_IMAGE_BASE"


def image_base_from_env() -> str | None:
    return os.environ.get(IMAGE_BASE_ENV) or None


def color_wanted(stream: object) -> bool:
    """Colour on a terminal, unless ``NO_COLOR`` is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def terminal_columns() -> int:
    """The terminal's width (``$COLUMNS`` first); 80 where there is no terminal, as on a stage
    the projector's font leaves about that many."""
    return shutil.get_terminal_size(fallback=(80, 24)).columns


# ``--runtime docker`` runs this image as it is instead of building the project's own (one built
# beforehand, by a test session or by ``docker compose build``, say).
DOCKER_IMAGE_ENV = "LBDEMO_DOCKER_IMAGE"


def docker_image_from_env() -> str | None:
    return os.environ.get(DOCKER_IMAGE_ENV) or None
