"""Defect 3 end to end: a running stack's PostgreSQL password is nowhere a user could see it.

Not in ``stack.json``, not in the logs under ``run/``, not on the command line (or process
title) of any process of the stack; replicas get it in ``PGPASSWORD``, which only we can read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pytest
from aiohttp import ClientSession

from lbdemo.store.embedded import ServerInfo
from lbdemo.store.secret import load_or_create_secret
from tests.utils import run_cli as lbdemo
from tests.utils import running_stack

pytestmark = pytest.mark.slow


def descendants(root_pid: int) -> list[int]:
    """Every live process below ``root_pid`` (children of children too)."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat_line.rsplit(")", 1)[1].split()
        parent_of[int(entry.name)] = int(fields[1])
    found, frontier = [], [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parent_of.items() if ppid == parent]
        found += children
        frontier += children
    return found


@pytest.mark.parametrize("storage", ["shared", "private"])
async def test_the_store_password_is_in_no_file_log_or_command_line_of_a_running_stack(
    tmp_path: Path, storage: str
) -> None:
    password = load_or_create_secret(tmp_path)
    async with running_stack(tmp_path, storage=storage, replicas=2) as stack:
        async with (
            ClientSession() as http,
            http.put(f"{stack.url}/products/k", json={"price": 1, "write_id": "w1"}) as r,
        ):
            assert r.status == 200, "the replicas reach their store with the password"
        processes = descendants(os.getpid())
        assert len(processes) >= 4  # balancer, replicas, PostgreSQL and its backends
        for pid in processes:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue  # gone meanwhile
            assert password not in cmdline, f"pid {pid}: {cmdline!r}"
        for replica in stack.replicas:
            environ = Path(f"/proc/{replica.pid}/environ").read_bytes().split(b"\0")
            assert f"PGPASSWORD={password}".encode() in environ
        assert password not in (tmp_path / "run" / "stack.json").read_text()
        names = [p.name for p in stack.runtime.procs.values()]
        inspected = lbdemo("inspect", "--state", str(tmp_path), *names)
        assert inspected.status == 0 and len(json.loads(inspected.out)) == len(names)
        assert password not in inspected.out
        assert_not_in_files(password, (tmp_path / "run").rglob("*"))
    assert_not_in_files(password, tmp_path.rglob("*.log"))  # and what the shutdown logged


def assert_not_in_files(secret: str, paths: Iterable[Path]) -> None:
    checked = 0
    for path in paths:
        try:
            text = path.read_text(errors="replace")
        except (IsADirectoryError, FileNotFoundError):
            continue
        assert secret not in text, path
        checked += 1
    assert checked, "there were files to look at"


async def test_a_password_in_a_user_dsn_goes_to_the_replicas_but_not_on_their_command_line(
    tmp_path: Path, pg_server: ServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGPASSWORD")  # only the URL carries it
    dsn = pg_server.dsn.replace("postgres@", f"postgres:{pg_server.password}@")
    async with running_stack(tmp_path, storage="shared", replicas=1, dsn=dsn) as stack:
        async with ClientSession() as http, http.get(f"{stack.url}/products/k") as r:
            assert r.status in (200, 404), "the replica reached the server"
        for replica in stack.replicas:
            cmdline = Path(f"/proc/{replica.pid}/cmdline").read_bytes().decode()
            assert pg_server.password not in cmdline
