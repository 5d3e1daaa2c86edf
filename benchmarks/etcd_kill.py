"""kill -9 of one etcd member in the middle of a load on ``--store etcd --storage shared``.

    .venv/bin/python benchmarks/etcd_kill.py [--users 20] [--duration 20] [--kill-at 9]
        [--victim leader|follower] [--out results/stores/etcd-kill]

Starts ``lbdemo up --store etcd --storage shared`` (3 replicas, a 3-member etcd cluster) on a
fresh state root as a child, runs ``lbdemo load`` through its balancer, and ``--kill-at``
seconds after the load's first progress line (about one second into it) sends SIGKILL to one
etcd member by its pid (from the stack's ``stack.json``), as ``kill -9`` from a shell would:
the leader by default (the harder case: an election, and writes in flight of unknown outcome).
The cluster keeps a majority. The replica whose member died
fails over to the other members (its store URL names all three; a put that could not connect is
sent to the next one, a put that was sent and lost its answer is an error, never retried). The
load's verdict and reports (``--out``) say whether the run stayed consistent and whether any
acknowledged write was lost. Then the stack is stopped (SIGINT, as Ctrl-C), also on failure.
Prints ``uptime`` before and after: figures from this project's machine are from a shared box.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from lbdemo.process.options import OneLineParser

UP_TIMEOUT_S = 120


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def wait_stack(state: Path, up: subprocess.Popen[bytes]) -> dict[str, Any]:
    """The stack description once ``up`` (this child) has written it."""
    stack_file = state / "run" / "stack.json"
    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        if up.poll() is not None:
            raise SystemExit(f"etcd_kill.py: lbdemo up exited with status {up.returncode}")
        with contextlib.suppress(OSError, ValueError):
            stack: dict[str, Any] = json.loads(stack_file.read_text())
            if stack.get("pid") == up.pid:
                return stack
        time.sleep(0.2)
    raise SystemExit("etcd_kill.py: lbdemo up did not come up in time")


def status(client_port: int) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{client_port}/v3/maintenance/status", data=b"{}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=2) as answer:  # 127.0.0.1 only
        result: dict[str, Any] = json.load(answer)
        return result


def echo_until_load_starts(load: subprocess.Popen[str]) -> threading.Event:
    """Print the load's lines as they come; the event is set at its first progress line (about
    a second into the load: Locust runs), so --kill-at counts from the load, not from the
    command's start (Locust's own start takes seconds on a busy machine)."""
    started = threading.Event()

    def pump() -> None:
        assert load.stdout is not None
        for line in load.stdout:
            print(line, end="", flush=True)
            if "left  ops=" in line:
                started.set()
        started.set()  # it ended before any load: do not wait for nothing

    threading.Thread(target=pump, daemon=True).start()
    return started


def pick_victim(members: list[dict[str, Any]], which: str) -> dict[str, Any]:
    """The member that is leader now (as the members say), or one that is not."""
    ids: dict[str, dict[str, Any]] = {}
    leader_id = ""
    for member in members:
        with contextlib.suppress(OSError, ValueError):
            answer = status(member["client_port"])
            ids[str(answer["header"]["member_id"])] = member
            leader_id = str(answer.get("leader", leader_id))
    leader = ids.get(leader_id)
    if leader is None:
        raise SystemExit("etcd_kill.py: no etcd member names a leader")
    if which == "leader":
        return leader
    return next(m for m in members if m is not leader)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="etcd_kill.py", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--kill-at", type=float, default=9.0)
    parser.add_argument("--victim", choices=("leader", "follower"), default="leader")
    parser.add_argument("--out", type=Path, default=Path("results/stores/etcd-kill"))
    args: argparse.Namespace = parser.parse_args(argv)
    if not 0 < args.kill_at < args.duration:
        parser.error("--kill-at must fall inside the load's --duration")
    base = [sys.executable, "-m", "lbdemo"]
    print(f"before: {uptime()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lbdemo-etcd-kill-") as tmp:
        state = Path(tmp)
        up_log = (state / "up.log").open("wb")
        up = subprocess.Popen(
            [*base, "up", "--state", tmp, "--port", "0", "--store", "etcd", "--storage", "shared"],
            stdout=up_log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        load: subprocess.Popen[str] | None = None
        try:
            stack = wait_stack(state, up)
            members = stack["layout"]["engine"]["members"]
            load_options = ["--duration", str(args.duration), "--out", str(args.out)]
            load = subprocess.Popen(
                [*base, "load", "--state", tmp, "--users", str(args.users), *load_options],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,  # its progress lines are on stderr
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},  # its lines as they come
                start_new_session=True,
            )
            echo_until_load_starts(load).wait(UP_TIMEOUT_S)
            began = time.monotonic()
            time.sleep(args.kill_at)
            victim = pick_victim(members, args.victim)
            os.kill(victim["pid"], signal.SIGKILL)
            print(
                f"etcd_kill.py: kill -9 {victim['pid']} (etcd member {victim['name']}, "
                f"the {args.victim}) {time.monotonic() - began:.1f} s after the load's first "
                "progress line",
                flush=True,
            )
            code = load.wait()
            print(f"after: {uptime()}", flush=True)
            return code
        finally:
            if load is not None and load.poll() is None:
                load.send_signal(signal.SIGINT)
                load.wait(30)
            if up.poll() is None:
                up.send_signal(signal.SIGINT)  # Ctrl-C: the stack stops everything it started
                try:
                    up.wait(60)
                except subprocess.TimeoutExpired:
                    up.kill()
                    up.wait()
            up_log.close()


if __name__ == "__main__":
    sys.exit(main())
