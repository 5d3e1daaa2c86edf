"""The dashboard on real stacks: ``lbdemo up --dashboard`` as a user runs it, the moves through
the daemon API, and ``lbdemo demo``'s pipeline showing each run's stack."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, ClientTimeout

from lbdemo.dashboard import Dashboard
from lbdemo.demo.pipeline import LIVE_VIEW, LoadSettings
from lbdemo.demo.runner import DemoPlan, run_demo
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from tests.dashboard.live import streaming
from tests.utils import THINK_MS, read_lines_until, run_cli, running_stack, up_process

LINK = re.compile(r"^  dashboard   (http://127\.0\.0\.1:\d+)/#token=([\w-]+)$")


def test_dashboard_options_are_checked_before_anything_starts(tmp_path: Path) -> None:
    bad_port = run_cli("up", "--state", str(tmp_path), "--dashboard", "--dashboard-port", "70000")
    assert bad_port.status == 2 and "--dashboard-port" in bad_port.err
    demo = run_cli(
        "demo",
        "--state",
        str(tmp_path),
        "--out",
        str(tmp_path / "out"),
        "--dashboard",
        "--dashboard-port",
        "-1",
    )
    assert demo.status == 2 and demo.err.count("\n") == 1 and "--dashboard-port" in demo.err
    assert not (tmp_path / "run" / "stack.json").exists() and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_up_prints_the_link_and_the_token_is_only_in_600_files(tmp_path: Path) -> None:
    with up_process(tmp_path, "--replicas", "1", "--dashboard") as process:
        lines = read_lines_until(process, "Press Ctrl-C to stop.")
        match = next(m for m in map(LINK.match, lines) if m)
        url, token = match[1], match[2]
        assert lines.index(match[0]) < lines.index("Press Ctrl-C to stop.")

        async def ask() -> tuple[int, int, bytes]:
            timeout = ClientTimeout(total=10)
            async with ClientSession(timeout=timeout) as http:
                async with http.get(f"{url}/events") as refused:
                    denied = refused.status
                async with http.get(
                    f"{url}/events", headers={"Authorization": f"Bearer {token}"}
                ) as r:
                    first = await r.content.readuntil(b"event: snapshot")
                    return denied, r.status, first

        denied, status, first = asyncio.run(ask())
        assert (denied, status) == (401, 200) and b"retry:" in first
        files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()]
        assert any(p.name == "stack.json" for p in files)
        # where `lbdemo load` finds the dashboard, and the address kept for the next `up`; no
        # log, no stack.json, nothing others may read
        holding = sorted(
            str(p.relative_to(tmp_path)) for p in files if token.encode() in p.read_bytes()
        )
        assert holding == ["dashboard/address.json", "run/dashboard.json"]
        assert all((tmp_path / p).stat().st_mode & 0o077 == 0 for p in holding)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    with pytest.raises(OSError):  # the dashboard went with the stack
        asyncio.run(_get(f"{url}/"))


async def _get(url: str) -> int:
    async with ClientSession(timeout=ClientTimeout(total=5)) as http, http.get(url) as r:
        return r.status


async def _snapshot_where(
    board: Dashboard, check: Callable[[dict[str, Any]], bool], timeout_s: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        latest = board.broadcaster.latest
        if latest is not None and check(latest.data):
            return latest.data
        assert time.monotonic() < deadline, latest.data if latest else None
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_the_moves_go_through_the_daemon_api(tmp_path: Path) -> None:
    async with running_stack(tmp_path, storage="shared", replicas=2) as stack:
        board = Dashboard(interval_s=0.3)
        await board.start()
        try:
            await board.watch(stack)
            headers = {"Authorization": f"Bearer {board.token}"}
            async with ClientSession(headers=headers) as http:
                async with http.put(
                    f"{stack.url}/products/apple", json={"price": 7, "write_id": "w-apple"}
                ):
                    pass
                async with http.get(f"{board.url}/api/lookup/apple") as r:
                    rows = (await r.json())["rows"]
                assert [(row["price"], row["write_id"]) for row in rows] == [(7, "w-apple")] * 2
                async with http.post(f"{board.url}/api/replicas") as r:
                    assert r.status == 201 and (await r.json())["Name"] == "lbdemo-r3"
                snap = await _snapshot_where(board, lambda s: len(s["rotation"]) == 3)
                assert snap["counts"]["divergent_keys"] == 0  # one database: they agree
                async with http.delete(f"{board.url}/api/replicas/lbdemo-r3") as r:
                    assert r.status == 200
                await _snapshot_where(
                    board,
                    lambda s: [c["name"] for c in s["replicas"]] == ["lbdemo-r1", "lbdemo-r2"],
                )
                for method, path in (
                    ("POST", "/api/replicas/lbdemo-r9/kill"),
                    ("DELETE", "/api/replicas/lbdemo-db"),
                ):
                    async with http.request(method, board.url + path) as r:
                        assert r.status == 404 and "no running replica" in (await r.json())["error"]
                async with http.post(f"{board.url}/api/upgrade") as r:
                    assert r.status == 200 and len((await r.json())["replaced"]) == 2
                snap = await _snapshot_where(
                    board, lambda s: {c["version"] for c in s["replicas"]} == {"1.1"}
                )
                assert len(snap["rotation"]) == 2
            lines = [m.data["line"] for m in board.broadcaster.log]
            assert any(re.fullmatch(r"lbdemo-r3 \([0-9a-f]{12}\) removed", line) for line in lines)
            assert any(line.startswith("lbdemo-r1 upgraded: ") for line in lines), lines
        finally:
            await board.stop()


@pytest.mark.slow
async def test_a_demo_run_is_shown_while_it_runs(tmp_path: Path) -> None:
    board = Dashboard(interval_s=0.3)
    await board.start()
    seen: list[dict[str, Any]] = []

    async def watch_counts() -> None:
        while True:
            if board.broadcaster.latest is not None:
                seen.append(board.broadcaster.latest.data)
            await asyncio.sleep(0.3)

    # Locust prints a progress line a second: four seconds give a few even on a shared CPU.
    plan = DemoPlan(
        "consistency",
        [Layout.from_options("private")],
        StackConfig(state_root=tmp_path / "state", replicas=1, balancer_listen="127.0.0.1:0"),
        LoadSettings(users=5, duration_s=4, think_ms=THINK_MS),
        tmp_path / "out",
    )
    watcher = asyncio.create_task(watch_counts())
    token = LIVE_VIEW.set(board)
    try:
        await run_demo(plan, lambda _: None)
        # The sampler runs on its own beat: give it a few beats to show the stack gone.
        for _ in range(50):
            if seen and seen[-1].get("stack") is None:
                break
            await asyncio.sleep(0.1)
    finally:
        LIVE_VIEW.reset(token)
        watcher.cancel()
        await board.stop()
    lines = [m.data["line"] for m in board.broadcaster.log]
    verdict = board.runs.describe_verdict()
    assert lines[0].startswith("watching a stack with a private PostgreSQL per replica")
    assert lines[-2:] == ["the stack stopped", f"private checked: {verdict['text']}"]
    shown = [s for s in seen if s.get("stack")]
    assert shown and shown[0]["stack"]["storage"] == "private"
    assert [c["name"] for c in shown[-1]["replicas"]] == ["lbdemo-r1"]
    # Locust's progress lines reached the dashboard (what the next snapshot shows)
    assert (board.runs.counts.ops or 0) > 0 and board.runs.counts.stale_reads is not None
    assert seen[-1]["verdict"]["state"] == "finished" and seen[-1]["verdict"]["source"] == "demo"
    assert seen[-1]["verdict"]["label"] == "private"
    # once checked: the checker's verdict and the report's link replace the live word
    report = json.loads((tmp_path / "out" / "private.json").read_text())
    assert verdict["stale_reads"] == report["anomalies"]["stale_read"]["count"]
    assert verdict["text"] == (
        "consistent" if report["verdict"] == "consistent" else "INCONSISTENT"
    )
    assert verdict["report"]["html"] == str(tmp_path / "out" / "private.html")
    assert seen[-1]["stack"] is None  # once the run ended, the page says so


@pytest.mark.slow
async def test_a_killed_card_is_seen_and_no_dead_card_outlives_an_upgrade(tmp_path: Path) -> None:
    async with running_stack(tmp_path, storage="shared", replicas=3) as stack:
        board = Dashboard(interval_s=0.2)
        await board.start()
        seen: list[dict[str, Any]] = []

        async def record() -> None:
            subscriber = board.broadcaster.subscribe()
            while True:
                message = await subscriber.get(5.0)
                if message is not None and message.event == "snapshot":
                    seen.append(message.data)

        recorder = asyncio.create_task(record())
        try:
            await board.watch(stack)
            before = await _snapshot_where(board, lambda s: len(s["rotation"]) == 3)
            assert before["upgrade"] == {"image": "lbdemo/catalog:1.1", "already": False}
            killed = next(c["id"] for c in before["replicas"] if c["name"] == "lbdemo-r2")
            headers = {"Authorization": f"Bearer {board.token}"}
            async with ClientSession(headers=headers) as http:
                async with http.post(f"{board.url}/api/replicas/lbdemo-r2/kill") as r:
                    assert r.status == 200
                # the death is shown beside its replacement, which it names
                dead = await _snapshot_where(
                    board,
                    lambda s: any(c["dead"] and c["replaced_by"] for c in s["replicas"]),
                )
                card = next(c for c in dead["replicas"] if c["dead"])
                assert card["id"] == killed and card["health"] == "died, exit status 137"
                assert len([c for c in dead["replicas"] if not c["dead"]]) == 3
                async with http.post(f"{board.url}/api/upgrade") as r:
                    assert r.status == 200
                done_at = len(seen)
                after = await _snapshot_where(
                    board, lambda s: {c["version"] for c in s["replicas"]} == {"1.1"}
                )
                await asyncio.sleep(1.0)  # a few more samples
            assert after["upgrade"]["already"] is True
            _every_field_is_documented(before, card)
            assert len(seen) > done_at + 3
            assert [c["name"] for s in seen[done_at:] for c in s["replicas"] if c["dead"]] == []
        finally:
            recorder.cancel()
            await asyncio.gather(recorder, return_exceptions=True)
            await board.stop()


@pytest.mark.slow
async def test_a_tab_hears_that_the_stack_stopped_before_the_server_goes(tmp_path: Path) -> None:
    async with running_stack(tmp_path, storage="shared", replicas=1) as stack:
        board = Dashboard(interval_s=0.2)
        await board.start()
        try:
            await board.watch(stack)
            assert board.url is not None
            async with streaming(board.url, board.token) as snapshots:
                _, live = await snapshots.first(lambda s: s.get("stack") is not None)
                await board.stop()
                _, last = await snapshots.first(lambda s: s.get("stack") is None, 5)
        finally:
            await board.stop()
    assert last["generation"] == live["generation"] and last["replicas"] == []
    assert last["verdict"]["text"] == "no load yet"


def _every_field_is_documented(snapshot: dict[str, Any], dead_card: dict[str, Any]) -> None:
    """docs/dashboard.md names every field of a live snapshot (its cards' own fields aside)."""
    doc = (Path(__file__).parents[2] / "docs" / "dashboard.md").read_text()
    names = [
        f"`{key}" if isinstance(value, dict) else f"`{key}`" for key, value in snapshot.items()
    ]
    for part in ("counts", "verdict", "key", "upgrade"):
        names += [f"`{part}.{key}`" for key in snapshot[part] if key != "load"]
    names += ["`counts.load`"] + [f"`{key}`" for key in snapshot["counts"]["load"]]
    names += [f"`{key}`" for key in ("dead_for_s", "died_at", "replaced_by")]
    assert {"`verdict.state`", "`key.agree`", "`upgrade.already`"} <= set(names)
    assert set(dead_card) >= {"dead_for_s", "died_at", "replaced_by"}
    missing = [name for name in names if name not in doc]
    assert missing == [], f"not in docs/dashboard.md: {missing}"
