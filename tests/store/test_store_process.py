"""``python -m lbdemo.store``: the image's store role, run here as a real process on loopback.

The password only from the environment (a file, as a container's secret, or ``$PGPASSWORD``);
SIGTERM a clean stop with status 0; PostgreSQL dying an exit with status 1 and one line.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.process.test_serve import ready_line, started, stops_promptly_with_0

STORE = "lbdemo.store"


def _password_file(tmp_path: Path, text: str = "s3cret-from-a-file\n") -> Path:
    path = tmp_path / "pgpassword"
    path.write_text(text)
    path.chmod(0o600)
    return path


async def test_the_store_takes_its_password_from_a_file_and_demands_it(tmp_path: Path) -> None:
    secret = _password_file(tmp_path)
    with started(
        STORE,
        "--pgdata",
        str(tmp_path / "pgdata"),
        "--listen",
        "127.0.0.1:0",
        # the file wins; an empty $PGPASSWORD stands for none (the session may have set one)
        env={"LBDEMO_STORE_PASSWORD_FILE": str(secret), "PGPASSWORD": ""},
    ) as proc:
        ready = await ready_line(proc)
        dsn = ready["url"]
        conn = await asyncpg.connect(dsn, password="s3cret-from-a-file", timeout=5)
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(dsn, password="s3cret-from-a-fil", timeout=5)
        assert b"s3cret" not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        await stops_promptly_with_0(proc)


async def test_the_store_exits_1_when_postgres_dies(tmp_path: Path) -> None:
    with started(
        STORE,
        "--pgdata",
        str(tmp_path / "pgdata"),
        "--listen",
        "127.0.0.1:0",
        env={"PGPASSWORD": "from-the-environment"},
    ) as proc:
        ready = await ready_line(proc)
        conn = await asyncpg.connect(ready["url"], password="from-the-environment", timeout=5)
        await conn.close()
        os.kill(ready["postgres_pid"], signal.SIGKILL)
        assert await asyncio.to_thread(proc.wait, 15) == 1
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert "Traceback" not in err
        # PostgreSQL's own log is copied to stderr (what `docker logs` shows)
        assert "database system is ready to accept connections" in err
        assert err.rstrip().splitlines()[-1] == (
            "lbdemo.store: error: PostgreSQL exited on its own (status -9)"
        )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PGPASSWORD": ""}, "no password"),
        ({"LBDEMO_STORE_PASSWORD_FILE": "/nonexistent/pgpassword"}, "cannot read"),
        ({"LBDEMO_STORE_PASSWORD_FILE": "EMPTY"}, "is empty"),
    ],
)
def test_a_store_without_a_usable_password_is_one_line_and_status_2(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    if env.get("LBDEMO_STORE_PASSWORD_FILE") == "EMPTY":
        env = {"LBDEMO_STORE_PASSWORD_FILE": str(_password_file(tmp_path, "\n"))}
    result = subprocess.run(
        [sys.executable, "-m", STORE, "--pgdata", str(tmp_path / "pgdata")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "PGPASSWORD": "", **env},
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and expected in result.stderr
    assert not (tmp_path / "pgdata").exists(), "nothing made"
