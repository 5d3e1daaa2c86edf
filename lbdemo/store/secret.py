"""The embedded servers' password: one random secret per state root, owner-only, reused.

A shared volume's cluster outlives the stack that created it, so the secret is created once and
read back by every later stack on the same state root. It lives in ``<state>/secrets/`` (mode
0700) in a file of mode 0600, is handed to child processes in ``PGPASSWORD`` (an environment only
the same user can read) and never goes into a DSN, a log, a report or a command line.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from lbdemo.errors import StoreError

SECRETS_DIR = "secrets"
PASSWORD_FILE = "postgres-password"
PASSWORD_ENV = "PGPASSWORD"  # what libpq and asyncpg read when a DSN carries no password


def secret_path(state_root: Path) -> Path:
    return state_root / SECRETS_DIR / PASSWORD_FILE


def new_password() -> str:
    """32 random bytes, URL-safe: no quoting needed anywhere, SASLprep leaves it unchanged."""
    return secrets.token_urlsafe(32)


def load_or_create_secret(state_root: Path, name: str = PASSWORD_FILE) -> str:
    """The state root's PostgreSQL password (or, with ``name``, another engine's: the file
    ``redis-password``), created on first use (race-free between processes)."""
    directory = state_root / SECRETS_DIR
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _owner_only(directory, 0o700)
    path = directory / name
    if not path.exists():
        _create(path)
    _owner_only(path, 0o600)
    try:
        password = path.read_text().strip()
    except OSError as exc:
        raise StoreError(f"cannot read the password in {path}: {exc}") from exc
    if not password:
        raise StoreError(f"{path} is empty: remove it to have a new password made")
    return password


def _create(path: Path) -> None:
    """Write to a private temporary file, then link it into place: a concurrent reader sees
    either no file or the whole secret, and of two creators the first link wins."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(new_password() + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _owner_only(path: Path, mode: int) -> None:
    """Refuse a secret someone else owns; tighten a mode that lets others in."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise StoreError(f"{path} is a symbolic link; refusing to use it for a password")
    if info.st_uid != os.geteuid():
        raise StoreError(f"{path} belongs to uid {info.st_uid}, not to us; refusing to use it")
    if stat.S_IMODE(info.st_mode) != mode:
        path.chmod(mode)
