"""What a presenter with only a terminal sees: `lbdemo get KEY --each-replica`, and the event
line `lbdemo up` prints for each change of the running stack."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from aiohttp import ClientSession

from lbdemo.deploy.events import describe_event
from tests.utils import (
    read_lines_until,
    run_cli,
    run_cli_async,
    run_cli_process,
    running_stack,
    up_process,
)


@pytest.mark.slow
async def test_each_replica_shows_what_each_private_store_holds(tmp_path: Path) -> None:
    async with (
        running_stack(tmp_path, storage="private", replicas=3) as stack,
        ClientSession() as http,
    ):
        async with http.put(
            f"{stack.url}/products/apple", json={"price": 1200, "write_id": "w-apple"}
        ) as r:
            writer = r.headers["X-Replica"]
        shown = await run_cli_async("get", "apple", "--each-replica", "--state", str(tmp_path))
        assert shown.status == 0, shown.err
        lines = shown.out.splitlines()
        assert lines[0] == "apple:"
        holder = next(line for line in lines if line.strip().startswith(writer))
        assert "1200" in holder and "w-apple" in holder
        assert sum("(not found)" in line for line in lines) == 2
        assert lines[-1] == "  the replicas disagree: 2 different answers"
        as_json = await run_cli_async(
            "get", "apple", "--each-replica", "--json", "--state", str(tmp_path)
        )
        rows = json.loads(as_json.out)
        assert {r["replica"] for r in rows} == {r.name for r in stack.replicas}
        assert sorted(r["status"] for r in rows) == [200, 404, 404]


def test_get_without_a_stack_or_with_a_bad_key_is_one_line(tmp_path: Path) -> None:
    missing = run_cli("get", "apple", "--state", str(tmp_path))
    assert missing.status == 2 and "no stack is running" in missing.err
    bad = run_cli("get", "../etc", "--state", str(tmp_path))
    assert bad.status == 2 and bad.err.count("\n") == 1


def test_events_become_one_line_each() -> None:
    assert (
        describe_event({"event": "die", "name": "lbdemo-r2", "id": "a" * 64, "exit_code": 137})
        == "lbdemo-r2 (aaaaaaaaaaaa) died, exit status 137"
    )
    assert describe_event(
        {"event": "replace", "name": "lbdemo-r2", "old_id": "a" * 64, "new_id": "b" * 64}
    ) == ("lbdemo-r2 replaced: aaaaaaaaaaaa -> bbbbbbbbbbbb (fresh container, empty layer)")
    assert describe_event({"event": "leave", "name": "lbdemo-r2"}) == "lbdemo-r2 left the rotation"
    assert describe_event({"event": "something-internal"}) is None


@pytest.mark.slow
def test_up_in_the_foreground_prints_a_line_when_a_replica_dies_and_is_replaced(
    tmp_path: Path,
) -> None:
    with up_process(tmp_path, "--replicas", "2") as process:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        seen = read_lines_until(process, "Press Ctrl-C to stop.")
        assert all(len(line) <= 100 for line in seen if str(tmp_path) not in line), seen
        kill = [sys.executable, "-m", "lbdemo", "kill", "lbdemo-r2", "--state", str(tmp_path)]
        killed = subprocess.run(kill, capture_output=True, text=True, timeout=60)
        assert killed.returncode == 0, killed.stderr
        events: list[str] = []
        while not any("replaced" in line for line in events):
            assert time.monotonic() < deadline + 30, events
            events.append(process.stdout.readline().rstrip("\n"))
        text = "\n".join(events)
        assert "lbdemo-r2" in text and "died, exit status 137" in text
        assert "left the rotation" in text and "joined the rotation" in text
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


@pytest.mark.slow
def test_up_runs_a_replicated_layout_whose_standbys_all_serve_a_synchronous_write(
    tmp_path: Path,
) -> None:
    with up_process(tmp_path, "--replicas", "2", "--storage", "replicated-sync") as process:
        seen = read_lines_until(process, "Press Ctrl-C to stop.")
        assert any("synchronous standby per replica" in line for line in seen), seen
        url = json.loads((tmp_path / "run" / "stack.json").read_text())["balancer"]["url"]
        put = urllib.request.Request(
            f"{url}/products/pear",
            method="PUT",
            data=b'{"price": 700, "write_id": "w-pear"}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(put, timeout=10) as response:
            assert response.status in (200, 201)
        # remote_apply: acknowledged means applied on every standby, so each replica's own
        # standby already answers with it
        shown = run_cli("get", "pear", "--each-replica", "--json", "--state", str(tmp_path))
        assert shown.status == 0, shown.err
        rows = json.loads(shown.out)
        assert [r["status"] for r in rows] == [200, 200]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


@pytest.mark.slow
def test_up_detached_keeps_the_apply_delay_it_was_given(tmp_path: Path) -> None:
    up = run_cli_process(
        tmp_path,
        "up",
        "-d",
        "--json",
        "--port",
        "0",
        "--replicas",
        "1",
        "--storage",
        "replicated-async",
        "--apply-delay",
        "50",
    )
    try:
        assert up.returncode == 0, up.stderr
        layout = json.loads(up.stdout)["layout"]
        assert (layout["name"], layout["apply_delay_ms"]) == ("replicated-async", 50)
    finally:
        assert run_cli_process(tmp_path, "down").returncode == 0
