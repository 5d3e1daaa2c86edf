"""Defect 3: embedded PostgreSQL must not be open to every local user.

The servers used to run with ``trust`` on 127.0.0.1, so any local account could connect as the
superuser. Now a password (SCRAM) is required, kept owner-only in the state root, and an old
trusting cluster is converted before it listens again.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import asyncpg
import pytest

from lbdemo.errors import StoreError
from lbdemo.store.dsn import redact_dsn, split_dsn_password
from lbdemo.store.embedded import EmbeddedPostgres, ServerInfo
from lbdemo.store.secret import load_or_create_secret, secret_path

REFUSED = (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)


async def test_a_running_server_refuses_a_client_without_the_password(
    pg_server: ServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")
    with pytest.raises(REFUSED):
        await asyncpg.connect(pg_server.dsn, timeout=5)


async def test_a_running_server_refuses_a_wrong_password(pg_server: ServerInfo) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(pg_server.dsn, password="not-" + pg_server.password, timeout=5)
    conn = await asyncpg.connect(pg_server.dsn, password=pg_server.password, timeout=5)
    try:
        assert await conn.fetchval("SELECT current_user") == "postgres"
    finally:
        await conn.close()


def test_the_dsn_and_repr_of_a_server_never_show_its_password(pg_server: ServerInfo) -> None:
    assert pg_server.password
    assert pg_server.password not in pg_server.dsn
    assert pg_server.password not in repr(pg_server)


async def test_a_cluster_made_with_trust_is_converted_before_it_listens_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old volume: a cluster whose pg_hba.conf trusts 127.0.0.1 and whose role has no
    password, as lbdemo made them before. The next start must close it and keep the data."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")
    pgdata = tmp_path / "volume" / "_data"
    first = EmbeddedPostgres(pgdata)
    info = await first.start()
    conn = await asyncpg.connect(info.dsn, password=info.password)
    await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('old data')")
    await conn.execute("ALTER ROLE postgres PASSWORD NULL")
    await conn.close()
    await first.stop()
    hba = pgdata / "pg_hba.conf"
    hba.write_text("host all all 127.0.0.1/32 trust\n")  # what initdb --auth=trust wrote
    (pgdata / "lbdemo-auth").unlink()

    second = EmbeddedPostgres(pgdata, password="the-new-secret")
    info = await second.start()
    try:
        with pytest.raises(REFUSED):
            await asyncpg.connect(info.dsn, timeout=5)
        conn = await asyncpg.connect(info.dsn, password="the-new-secret", timeout=5)
        try:
            assert await conn.fetchval("SELECT v FROM kept") == "old data"
        finally:
            await conn.close()
    finally:
        await second.stop()
    assert "trust" not in "\n".join(
        line for line in hba.read_text().splitlines() if not line.startswith("#")
    )


async def test_a_changed_password_is_applied_to_an_existing_cluster(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    server = EmbeddedPostgres(pgdata, password="first")
    await server.start()
    await server.stop()
    server = EmbeddedPostgres(pgdata, password="second")
    info = await server.start()
    try:
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(info.dsn, password="first", timeout=5)
        conn = await asyncpg.connect(info.dsn, password="second", timeout=5)
        await conn.close()
    finally:
        await server.stop()


def test_the_secret_is_owner_only_and_created_once(tmp_path: Path) -> None:
    password = load_or_create_secret(tmp_path)
    path = secret_path(tmp_path)
    assert len(password) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_or_create_secret(tmp_path) == password, "a volume's cluster outlives a stack"
    assert load_or_create_secret(tmp_path / "other") != password


def test_a_secret_made_readable_by_others_is_closed_again(tmp_path: Path) -> None:
    password = load_or_create_secret(tmp_path)
    path = secret_path(tmp_path)
    path.chmod(0o644)
    path.parent.chmod(0o755)
    assert load_or_create_secret(tmp_path) == password
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_secret_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("planted\n")
    path = secret_path(tmp_path / "state")
    path.parent.mkdir(parents=True, mode=0o700)
    os.symlink(elsewhere, path)
    with pytest.raises(StoreError, match="symbolic link"):
        load_or_create_secret(tmp_path / "state")


@pytest.mark.parametrize(
    ("dsn", "shown", "bare", "password"),
    [
        (
            "postgresql://u:s3cr%40t@db:5432/app",
            "postgresql://u:***@db:5432/app",
            "postgresql://u@db:5432/app",
            "s3cr@t",
        ),
        (
            "postgresql://u@db/app?password=s3cret&sslmode=disable",
            "postgresql://u@db/app?password=%2A%2A%2A&sslmode=disable",
            "postgresql://u@db/app?sslmode=disable",
            "s3cret",
        ),
        (
            "postgresql://u@127.0.0.1:5432/app",
            "postgresql://u@127.0.0.1:5432/app",
            "postgresql://u@127.0.0.1:5432/app",
            None,
        ),
        ("postgres://:pw@h/d", "postgres://:***@h/d", "postgres://h/d", "pw"),
    ],
)
def test_a_dsn_is_shown_without_its_password_and_split_from_it(
    dsn: str, shown: str, bare: str, password: str | None
) -> None:
    assert redact_dsn(dsn) == shown
    assert split_dsn_password(dsn) == (bare, password)
