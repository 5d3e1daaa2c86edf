"""The replica process (``python -m lbdemo.replica``) serves through create_runner: even
aiohttp's own refusals are JSON with X-Replica, and the password reaches it in PGPASSWORD."""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import ClientSession

from lbdemo.process.spawn import spawn
from lbdemo.store.embedded import ServerInfo


async def test_the_replica_process_answers_a_header_too_large_with_431_json(
    tmp_path: Path, pg_server: ServerInfo
) -> None:
    child = await spawn(
        "replica rp",
        [sys.executable, "-m", "lbdemo.replica", "--name", "rp", "--dsn", pg_server.dsn],
        log_path=tmp_path / "replica.log",
    )  # the password comes from PGPASSWORD, which the session's server fixture sets
    try:
        url = child.ready["url"]
        async with ClientSession() as http:
            async with http.get(f"{url}/healthz") as r:
                assert r.status == 200
            async with http.get(f"{url}/healthz", headers={"X-Big": "b" * 12_000}) as r:
                assert r.status == 431
                assert r.headers["X-Replica"] == "rp"
                assert (await r.json())["status"] == 431
    finally:
        await child.stop()
    assert "Traceback" not in (tmp_path / "replica.log").read_text()
