"""The server skeleton (lbdemo.process.serve) and the three processes that run on it, for real.

Each process is a real ``python -m ...`` child on 127.0.0.1 port 0: its ready line is read, it
serves, SIGTERM ends it with status 0; bad arguments end it with one line and status 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from lbdemo.balancer.__main__ import main as balancer_main
from lbdemo.bench.replica import main as bench_replica_main
from lbdemo.errors import ProcessError, StoreError, UsageError
from lbdemo.process.address import http_url, parse_hostport
from lbdemo.process.serve import serve
from lbdemo.replica.__main__ import main as replica_main
from lbdemo.store.embedded import ServerInfo

# --- HOST:PORT -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("localhost:65535", ("localhost", 65535)),
        ("[::1]:8080", ("::1", 8080)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
    ],
)
def test_hostport_is_parsed(spec: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "8080",
        ":8080",
        "127.0.0.1:",
        "127.0.0.1:65536",
        "127.0.0.1:-1",
        "127.0.0.1:8o",
        "127.0.0.1:²",
        "127.0.0.1:١٢",
        "[::1:80",
        "::1]:80",
        "127.0.0.1: 80",
    ],
)
def test_bad_hostport_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UsageError, match="HOST:PORT"):
        parse_hostport(spec)


def test_urls_put_ipv6_hosts_in_brackets() -> None:
    assert http_url("127.0.0.1", 80) == "http://127.0.0.1:80"
    assert http_url("::1", 80) == "http://[::1]:80"


# --- the lifecycle, in this process with a fake server ------------------------------------------


class FakeServer:
    """Records the order of calls; ``fail`` makes startup raise, ``hang`` makes it take 10 s."""

    def __init__(self, fail: Exception | None = None, hang: bool = False) -> None:
        self.fail = fail
        self.hang = hang
        self.calls: list[str] = []

    async def startup(self) -> dict[str, Any]:
        self.calls.append("startup")
        # What a supervisor does: SIGTERM. The skeleton's handler only sets its event.
        os.kill(os.getpid(), signal.SIGTERM)
        if self.fail is not None:
            raise self.fail
        if self.hang:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                self.calls.append("startup cancelled")
                raise
        return {"url": "http://127.0.0.1:1"}

    async def shutdown(self) -> None:
        self.calls.append("shutdown")


def test_startup_ready_line_stop_then_shutdown_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    server = FakeServer()
    assert serve("fake", lambda: server) == 0
    assert server.calls == ["startup", "shutdown"]
    ready = json.loads(capsys.readouterr().out)
    assert ready == {"event": "ready", "pid": os.getpid(), "url": "http://127.0.0.1:1"}


def test_a_signal_during_startup_cancels_it_and_still_shuts_down(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = FakeServer(hang=True)
    assert serve("fake", lambda: server, use_uvloop=False) == 0
    assert server.calls == ["startup", "startup cancelled", "shutdown"]
    assert capsys.readouterr().out == ""  # never ready


@pytest.mark.parametrize(
    ("error", "status"),
    [(UsageError("bad DSN"), 2), (StoreError("no database"), 1), (OSError(98, "in use"), 1)],
)
def test_a_failed_startup_is_one_line_and_still_shuts_down(
    capsys: pytest.CaptureFixture[str], error: Exception, status: int
) -> None:
    server = FakeServer(fail=error)
    assert serve("fake", lambda: server) == status
    assert server.calls == ["startup", "shutdown"]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("fake: error: ") and captured.err.count("\n") == 1


class DyingServer(FakeServer):
    """A server whose charge (its PostgreSQL) dies once it is ready."""

    async def startup(self) -> dict[str, Any]:
        self.calls.append("startup")
        return {"url": "postgresql://127.0.0.1:1"}

    async def until_failed(self) -> None:
        await asyncio.sleep(0.01)
        raise ProcessError("PostgreSQL exited on its own (status -9)")


def test_a_server_that_fails_on_its_own_exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = DyingServer()
    assert serve("dying", lambda: server, use_uvloop=False) == 1
    assert server.calls == ["startup", "shutdown"]
    assert capsys.readouterr().err == "dying: error: PostgreSQL exited on its own (status -9)\n"


# --- the real processes ---------------------------------------------------------------------


@contextlib.contextmanager
def started(
    module: str, *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """``python -m module args``, killed by pid at the end if it is still running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


async def ready_line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None and proc.stderr is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
    assert line, proc.stderr.read()
    ready: dict[str, Any] = json.loads(line)
    assert ready["event"] == "ready" and ready["pid"] == proc.pid
    return ready


async def stops_promptly_with_0(proc: subprocess.Popen[str]) -> None:
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 10) == 0
    assert time.monotonic() - began < 5
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


async def get(url: str) -> tuple[int, str | None]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        await resp.read()
        return resp.status, resp.headers.get("X-Replica")


@pytest.fixture
def bench_replica() -> Iterator[subprocess.Popen[str]]:
    with started("lbdemo.bench.replica", "--name", "b1", "--listen", "127.0.0.1:0") as proc:
        yield proc


async def test_bench_replica_and_balancer_processes_serve_and_stop_on_sigterm(
    bench_replica: subprocess.Popen[str],
) -> None:
    replica = await ready_line(bench_replica)
    assert await get(f"{replica['url']}/") == (200, "b1")
    with started(
        "lbdemo.balancer",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        f"b1={replica['url']}",
        "--health-interval",
        "0",
    ) as balancer:
        ready = await ready_line(balancer)
        assert await get(f"{ready['url']}/") == (200, "b1")
        await stops_promptly_with_0(balancer)
    await stops_promptly_with_0(bench_replica)


async def test_replica_process_takes_its_dsn_from_the_environment(pg_server: ServerInfo) -> None:
    with started(
        "lbdemo.replica",
        "--name",
        "lbdemo-r7",
        "--listen",
        "127.0.0.1:0",
        env={"LBDEMO_STORE_DSN": pg_server.dsn},
    ) as proc:
        ready = await ready_line(proc)
        assert ready["name"] == "lbdemo-r7"
        # What `ps` shows every user of the machine: no DSN, so no password either.
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert b"postgresql" not in cmdline
        assert await get(f"{ready['url']}/healthz") == (200, "lbdemo-r7")
        await stops_promptly_with_0(proc)


async def test_replica_process_takes_its_password_from_a_file(
    pg_server: ServerInfo, tmp_path: Path
) -> None:
    """A container's way: the DSN in the environment, the password in a mounted file."""
    secret = tmp_path / "pgpassword"
    secret.write_text(pg_server.password + "\n")
    with started(
        "lbdemo.replica",
        "--name",
        "lbdemo-r8",
        "--listen",
        "127.0.0.1:0",
        # an empty $PGPASSWORD: the session's own must not be what lets the replica in
        env={
            "LBDEMO_STORE_DSN": pg_server.dsn,
            "LBDEMO_STORE_PASSWORD_FILE": str(secret),
            "PGPASSWORD": "",
        },
    ) as proc:
        ready = await ready_line(proc)
        assert await get(f"{ready['url']}/healthz") == (200, "lbdemo-r8")
        await stops_promptly_with_0(proc)
    secret.write_text("not-the-password\n")
    with started(
        "lbdemo.replica",
        "--name",
        "lbdemo-r8",
        "--listen",
        "127.0.0.1:0",
        env={"LBDEMO_STORE_DSN": pg_server.dsn, "LBDEMO_STORE_PASSWORD_FILE": str(secret)},
    ) as proc:
        assert await asyncio.to_thread(proc.wait, 30) == 1  # the file wins over $PGPASSWORD
        assert proc.stderr is not None
        assert "password authentication failed" in proc.stderr.read()


def test_an_unreadable_password_file_is_one_line_and_status_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lbdemo.replica", "--name", "r1", "--dsn", "postgresql://x/db"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "LBDEMO_STORE_PASSWORD_FILE": str(tmp_path / "missing")},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "LBDEMO_STORE_PASSWORD_FILE" in result.stderr and "No such file" in result.stderr


@pytest.fixture
def silent_database() -> Iterator[socket.socket]:
    """A port that accepts connections and never says a word, like a database that hangs."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(30)
        yield listener


async def test_replica_stuck_in_startup_stops_promptly_on_sigterm(
    silent_database: socket.socket,
) -> None:
    port = silent_database.getsockname()[1]
    with started(
        "lbdemo.replica", "--name", "r1", "--dsn", f"postgresql://u@127.0.0.1:{port}/db"
    ) as proc:
        # Its first connection to the store: the replica is in startup, its loop running.
        connection, _ = await asyncio.to_thread(silent_database.accept)
        with connection:
            await stops_promptly_with_0(proc)
        assert proc.stdout is not None and proc.stdout.read() == ""


async def test_a_port_in_use_is_one_line_and_status_1(bench_replica: subprocess.Popen[str]) -> None:
    taken = (await ready_line(bench_replica))["url"].removeprefix("http://")
    for module in ("lbdemo.bench.replica", "lbdemo.balancer"):
        with started(module, "--listen", taken) as proc:
            _, err = await asyncio.to_thread(proc.communicate, None, 30)
            assert proc.returncode == 1, err
            assert err.count("\n") == 1 and "cannot listen" in err


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("lbdemo.bench.replica", []),
        ("lbdemo.balancer", []),
        ("lbdemo.replica", ["--name", "r1", "--dsn", "postgresql://x/db"]),
    ],
)
def test_a_bad_listen_address_is_one_line_and_status_2(module: str, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, *args, "--listen", "127.0.0.1:http"],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "HOST:PORT" in result.stderr


BAD_ARGUMENTS = [
    (bench_replica_main, ["--name", "b 1"]),
    (balancer_main, ["--listen", "127.0.0.1:99999"]),
    (balancer_main, ["--admin", "nohost"]),
    (balancer_main, ["--log-level", "chatty"]),
    (balancer_main, ["--upstream", "r1\n=http://127.0.0.1:1"]),
    (replica_main, ["--name", "r1"]),  # no --dsn and no $LBDEMO_STORE_DSN
    (replica_main, ["--name", "r1\n", "--dsn", "postgresql://x/db"]),
    (replica_main, ["--name", "r1", "--dsn", "mysql://u:secret@x/db"]),
    (replica_main, ["--name", "r1", "--dsn", "postgresql://x/db", "--pool-size", "0"]),
]


@pytest.mark.parametrize(
    ("main", "args"), BAD_ARGUMENTS, ids=[f"{m.__module__} {a}" for m, a in BAD_ARGUMENTS]
)
def test_bad_arguments_are_one_line_and_status_2(
    main: Callable[[list[str]], int],
    args: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LBDEMO_STORE_DSN", raising=False)
    # Were the arguments wrongly accepted, the server must not start here and run forever.
    monkeypatch.setattr(sys.modules[main.__module__], "serve", lambda *args, **kwargs: 0)
    try:
        status = main(args)
    except SystemExit as exc:  # argparse's way out
        status = exc.code  # type: ignore[assignment]
    assert status == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "error:" in captured.err
    assert "secret" not in captured.err


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
async def test_ready_line_urls_of_an_ipv6_address_work() -> None:
    args = ["--listen", "[::1]:0", "--admin", "[::1]:0", "--admin-token", "t"]
    with started("lbdemo.balancer", *args) as proc:
        ready = await ready_line(proc)
        assert str(ready["url"]).startswith("http://[::1]:")
        assert (await get(f"{ready['url']}/"))[0] == 503  # no replica: answered, in JSON
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{ready['admin_url']}/replicas", headers={"Authorization": "Bearer t"}) as r,
        ):
            assert r.status == 200
        await stops_promptly_with_0(proc)
