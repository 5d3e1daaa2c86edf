"""Every bad option of `up` and `demo` is refused before anything starts: one line, status 2,
no file under the state root, no process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils import assert_demo_refused, run_cli

BAD_UP = [
    ["--strategy", "bogus"],
    ["--replicas", "0"],
    ["--replicas", "33"],
    ["--storage", "cloud"],
    ["--dsn", "mysql://x"],
    ["--storage", "private", "--dsn", "postgresql://x"],
    ["--port", "99999"],
    ["--port", "-1"],
    ["--image", "lbdemo/catalog:9.9"],
    ["--image", "lbdemo/postgres:18"],
    ["--restart", "sometimes"],
    ["--storage", "private", "--apply-delay", "100"],
    ["--storage", "replicated-async", "--apply-delay", "-5"],
    ["--storage", "replicated-sync", "--dsn", "postgresql://x/y"],
    ["--host", "example.org"],
    ["--host", "127.0.0.1:80"],
]
BAD_DEMO = [
    ["--strategy", "bogus"],
    ["--users", "0"],
    ["--duration", "0.5"],
    ["--keys", "0"],
    ["--write-ratio", "1.5"],
    ["--think-time", "-1"],
    ["--think-time", "nan"],
    ["--think-time", "10001"],
    ["--replicas", "0"],
    ["--dsn", "mysql://x"],
    ["--scenario", "upgrade", "--dsn", "postgresql://localhost/x"],
]


@pytest.mark.parametrize("args", BAD_UP, ids=" ".join)
def test_up_refuses_a_bad_option_before_starting_anything(tmp_path: Path, args: list[str]) -> None:
    state = tmp_path / "state"
    result = run_cli("up", "--state", str(state), *args)
    assert result.status == 2, result
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert result.out == ""
    assert not state.exists(), "nothing was created, so nothing was started"


@pytest.mark.parametrize("args", BAD_DEMO, ids=" ".join)
def test_demo_refuses_a_bad_option_before_starting_anything(
    tmp_path: Path, args: list[str]
) -> None:
    assert_demo_refused(tmp_path, *args)


def test_only_a_non_loopback_host_exposes_the_balancer(tmp_path: Path) -> None:
    from lbdemo.deploy.config import StackConfig

    assert not StackConfig(state_root=tmp_path, balancer_listen="127.0.0.1:0").exposed
    assert not StackConfig(state_root=tmp_path, balancer_listen="[::1]:0").exposed
    assert StackConfig(state_root=tmp_path, balancer_listen="0.0.0.0:8080").exposed


def test_adopt_volume_belongs_to_the_docker_runtime(tmp_path: Path) -> None:
    """Issue 21, item 5: --adopt-volume takes over another state root's Docker volume; on the
    local runtime it means nothing, so it is refused in one line and nothing starts."""
    result = run_cli("up", "--state", str(tmp_path / "s"), "--adopt-volume")
    assert result.status == 2 and result.err.count("\n") == 1, result
    assert "--adopt-volume applies to --runtime docker" in result.err
    assert not (tmp_path / "s").exists()
