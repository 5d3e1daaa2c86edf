"""Defaults a hostile local user meets: every listener of a stack on 127.0.0.1, and every file
``lbdemo up`` keeps under ``<state>/run/`` readable by its owner only."""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.utils import running_stack

pytestmark = pytest.mark.slow


def _listening_addresses(pid: int) -> set[str]:
    """The local addresses of ``pid``'s listening TCP sockets (from /proc/<pid>/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    addresses = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                host_hex = fields[1].split(":")[0]
                addresses.add(
                    ".".join(str(int(host_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
                    if len(host_hex) == 8
                    else host_hex
                )
    return addresses


async def test_every_file_under_run_is_owner_only_and_every_listener_is_loopback(
    state_dir: Path,
) -> None:
    async with running_stack(state_dir, storage="private", replicas=2) as stack:
        run = state_dir / "run"
        loose = []
        for path in [run, *run.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            want = 0o700 if path.is_dir() else 0o600
            if mode & 0o077 or (path.is_dir() and mode != want):
                loose.append(f"{path.relative_to(state_dir)}: {mode:o}")
        assert loose == [], "readable by others: " + ", ".join(loose)

        for url in (stack.url, stack.admin_url, *(r.url for r in stack.replicas)):
            assert url is not None and urlsplit(url).hostname == "127.0.0.1", url
        pids = [stack.balancer.pid if stack.balancer else 0]
        pids += [r.pid for r in stack.replicas]
        for pid in pids:
            addresses = _listening_addresses(pid)
            assert addresses and addresses <= {"127.0.0.1"}, (pid, addresses)
