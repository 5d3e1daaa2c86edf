"""The balancer compiled by mypyc (``lbdemo compile``) behaves as the interpreted one.

The build is made once per source digest and kept in the tests' cache directory (CI makes it
once per fresh machine, about 15 s of one core); without mypyc, a C compiler or the Python
headers these tests skip, naming what is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lbdemo.balancer.native import COMPILED_ENV, find_build
from lbdemo.balancer.native_build import build, missing_build_tool
from lbdemo.process.children import Children
from tests.install.venvs import cache_root

ROOT = Path(__file__).resolve().parents[2]

WHY_NOT = missing_build_tool()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"cannot compile: {WHY_NOT}")


@pytest.fixture(scope="module")
def builds() -> Path:
    """The directory of builds, with one of today's sources in it."""
    root = cache_root().parent / "compiled"
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers: one compiles, the others wait
        if find_build(root) is None:
            build(root)
    return root


@contextlib.contextmanager
def processes(tmp_path: Path) -> Iterator[Children]:
    children = Children(tmp_path)
    try:
        yield children
    finally:
        children.stop_all()


def test_a_compiled_balancer_says_so_and_balances(builds: Path, tmp_path: Path) -> None:
    with processes(tmp_path) as children:
        ports = []
        for name in ("r1", "r2"):
            ready = children.start_with_ready_line(
                name, [sys.executable, "-m", "lbdemo.bench.replica", "--name", name]
            )
            ports.append(str(ready["url"]).rsplit(":", 1)[1])
        ups = [f"--upstream=r{i}=http://127.0.0.1:{p}" for i, p in enumerate(ports, 1)]
        argv = [sys.executable, "-m", "lbdemo.balancer", "--listen", "127.0.0.1:0", *ups]
        compiled = children.start_with_ready_line("lb", argv, env={COMPILED_ENV: str(builds)})
        plain = children.start_with_ready_line("lb-python", argv)
        assert compiled["data_path"] == "compiled"
        assert plain["data_path"] == "interpreted"
        served = []
        for _ in range(4):
            with urllib.request.urlopen(f"{compiled['url']}/", timeout=10) as response:
                assert response.read() == b"hello\n"
                served.append(response.headers["X-Replica"])
        assert served == ["r1", "r2", "r1", "r2"]


def test_the_balancer_tests_pass_on_the_compiled_data_path(builds: Path, tmp_path: Path) -> None:
    env = {**os.environ, COMPILED_ENV: str(builds), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/balancer",
            "-q",
            "-n",
            "0",
            # 11 s of 1,030 slow bodies, for the per-address cap: its logic is also tested by
            # test_one_address_cannot_take_every_slot, which stays.
            "--deselect",
            "tests/balancer/test_balancer_per_client.py"
            "::test_1030_slow_bodies_from_one_address_leave_room_for_others",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.native.expect_compiled",
            # Its own temporary root: this session's must not be pruned by the inner one.
            f"--basetemp={tmp_path / 'inner'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    tail = done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed is not None and int(passed.group(1)) >= 150, tail
    assert " failed" not in done.stdout and " error" not in done.stdout, tail


def test_the_bench_measures_the_compiled_balancer_under_its_own_name(
    builds: Path, tmp_path: Path
) -> None:
    from lbdemo.bench.runner import start_targets

    children = Children(tmp_path)
    try:
        targets = start_targets(children, tmp_path, [], lambda _: None, builds)
    finally:
        children.stop_all()
    names = [target.name for target in targets]
    assert names[:2] == ["lbdemo", "lbdemo-compiled"] and names[-1] == "direct"


def test_the_bench_refuses_a_compiled_row_that_runs_python(tmp_path: Path) -> None:
    from lbdemo.bench.runner import start_targets
    from lbdemo.errors import ProcessError

    children = Children(tmp_path)
    try:
        with pytest.raises(ProcessError, match="did not load the compiled build"):
            start_targets(children, tmp_path, [], lambda _: None, tmp_path / "no-builds")
    finally:
        children.stop_all()
