"""`lbdemo down` while `lbdemo up -d` is starting stops what started (issue 21, item 4).

Before: `down` looked only for the supervisor's pid file, which `up` writes once the stack is
up; during start-up it said "no stack is running", exited 0, and the stack then came up and
kept running. Now `up` takes the state root's lock at its first instant (before its imports),
and `down` stops whoever holds it and waits until it is free.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.utils import run_cli_process


def _processes_naming(state: Path) -> list[int]:
    """Live processes whose command line or environment names ``state`` (every process a
    stack on it starts: the supervisor, replicas, balancer, PostgreSQL)."""
    needle = str(state).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                continue
            text = (entry / "cmdline").read_bytes()
            with contextlib.suppress(OSError):
                text += (entry / "environ").read_bytes()
        except (OSError, IndexError):
            continue
        if needle in text:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("delay_s", [0.1, 0.4, 0.8, 1.5])
def test_down_during_up_detached_leaves_nothing_running(tmp_path: Path, delay_s: float) -> None:
    state = tmp_path / "state"
    env = {**os.environ, "LBDEMO_STATE": str(state)}
    argv = [sys.executable, "-m", "lbdemo", "up", "-d", "--port", "0", "--replicas", "1"]
    up = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(delay_s)
        down = run_cli_process(state, "down")
        assert down.returncode == 0, down.stderr
        up.communicate(timeout=120)
        deadline = time.monotonic() + 20
        while _processes_naming(state) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _processes_naming(state)
        assert not left, (
            f"left running after down at {delay_s} s: {left}; down said {down.stderr!r}"
        )
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        for pid in _processes_naming(state):  # only what this test's stack started
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    "bad", [["--storage", "nonsense"], ["--runtime", "docker", "--storage", "replicated-sync"]]
)
def test_a_refused_up_leaves_no_state_root_behind(tmp_path: Path, bad: list[str]) -> None:
    """The lock `up` claims at its first instant is given back, and what was made for it
    removed, when `up` then refuses its options: bad input changes nothing."""
    state = tmp_path / "new-state"
    result = run_cli_process(state, "up", "--port", "0", *bad)
    assert result.returncode == 2, result.stderr
    assert not state.exists()


def test_down_waits_for_the_lock_an_up_holds(tmp_path: Path) -> None:
    """Unit-sized: a process holding the stack lock (as `up` from its first instant) is
    signalled by `down`, which returns once the lock is free."""
    state = tmp_path / "state"
    (state / "run").mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(state / 'run' / 'stack.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, str(os.getpid()).encode())\n"
            "print('held', flush=True); time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        down = run_cli_process(state, "down")
        assert down.returncode == 0 and "stopped" in down.stdout, down
        assert holder.wait(timeout=5) == -signal.SIGTERM
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
