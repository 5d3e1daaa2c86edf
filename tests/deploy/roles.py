"""A container's command as the image runs it: through its entry point to a role's own parser,
so compose.yaml and the Kubernetes manifests are checked against the code, not a copy of it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from lbdemo import config
from lbdemo.docker import contract, entry

ROLE_MODULES = {"replica": "lbdemo.replica.__main__", "store": "lbdemo.store.__main__"}


def role_argv(command: list[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The argv the image's entry point hands its role for ``command`` (the role is not run)."""
    seen: list[list[str]] = []
    with monkeypatch.context() as patch:
        patch.setattr(f"{ROLE_MODULES[command[0]]}.main", lambda a: seen.append(list(a)) or 0)
        assert entry.main(command) == 0
    return seen[0]


def parse_role(
    command: list[str],
    environment: dict[str, str],
    password_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> argparse.Namespace:
    """``command`` as its role's parser reads it in ``environment``, which must name the password
    file where the image expects it mounted; ``password_file`` stands in for it here."""
    from lbdemo.replica.__main__ import parse_args as replica_args
    from lbdemo.store.__main__ import parse_args as store_args

    argv = role_argv(command, monkeypatch)
    assert environment.get(config.STORE_PASSWORD_FILE_ENV) == contract.PASSWORD_FILE
    with monkeypatch.context() as patch:
        for name in (config.STORE_DSN_ENV, config.PGPASSWORD_ENV, config.READ_DSN_ENV):
            patch.delenv(name, raising=False)
        for name, value in environment.items():
            patch.setenv(name, value)
        patch.setenv(config.STORE_PASSWORD_FILE_ENV, str(password_file))
        return (replica_args if command[0] == "replica" else store_args)(argv)
