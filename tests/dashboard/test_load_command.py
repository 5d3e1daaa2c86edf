"""``lbdemo load`` on the stack ``lbdemo up -d --dashboard`` runs: its options, the dashboard it
feeds (stale reads, the verdict, the report's link), and the divergent-keys count that must
read 0 for shared storage under load. Real processes, real Locust, real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from tests.dashboard.live import detached_stack, finish, lbdemo, load_process, streaming
from tests.utils import THINK_MS


def test_bad_options_and_no_stack_are_one_line_and_start_nothing(tmp_path: Path) -> None:
    for argv in (
        ["--users", "0"],
        ["--duration", "0"],
        ["--think-time", "-1"],
        ["--web-port", "70000"],
        ["--frobnicate"],
    ):
        result = lbdemo(tmp_path, "load", *argv, "--out", str(tmp_path / "out"))
        assert result.returncode == 2 and result.stderr.count("\n") == 1, (argv, result.stderr)
        assert "Traceback" not in result.stderr
    result = lbdemo(tmp_path, "load", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert (
        result.stderr
        == f"lbdemo: error: no stack is running on {tmp_path}; start one with `lbdemo up`\n"
    )
    assert not (tmp_path / "out").exists() and not (tmp_path / "run").exists()


def test_a_taken_web_port_is_one_line_before_locust_starts(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    stack = {
        "balancer": {"url": "http://127.0.0.1:9"},
        "replicas": [{"name": "lbdemo-r1", "url": "http://127.0.0.1:10"}],
        "layout": {"storage": "private"},
    }
    (tmp_path / "run" / "stack.json").write_text(json.dumps(stack))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = lbdemo(
            tmp_path, "load", "--web", "--web-port", str(port), "--out", str(tmp_path / "o")
        )
    assert result.returncode == 2
    assert result.stderr == f"lbdemo: error: --web-port {port}: the port is taken on 127.0.0.1\n"
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
async def test_private_storage_stale_reads_reach_the_dashboard_within_5_s(tmp_path: Path) -> None:
    state, out = tmp_path / "state", tmp_path / "out"
    with detached_stack(state, "--storage", "private", "--dashboard-interval", "0.25") as (
        url,
        token,
    ):
        async with streaming(url, token) as snapshots:
            _, idle = await snapshots.first(lambda s: s.get("stack") is not None)
            assert idle["verdict"]["text"] == "no load yet" and not idle["replay"]
            assert idle["counts"]["load"]["stale_reads"] is None
            load = await load_process(
                state, "--duration", "6", "--users", "10", "--think-time", str(THINK_MS),
                "--out", str(out),
            )  # fmt: skip
            try:
                began, _ = await snapshots.first(lambda s: s["verdict"]["state"] == "running")
                # Locust's own start (an interpreter, gevent, 10 users) takes seconds of a busy
                # machine's CPU: the 5 s count from its first operations on the page
                traffic, _ = await snapshots.first(lambda s: (s["counts"]["load"]["ops"] or 0) > 0)
                stale_at, _ = await snapshots.first(
                    lambda s: (s["counts"]["load"]["stale_reads"] or 0) > 0
                )
                divergent_at, _ = await snapshots.first(lambda s: s["counts"]["divergent_keys"] > 0)
                stdout, stderr = await finish(load)
            finally:
                if load.returncode is None:
                    load.kill()
                    await load.wait()
            assert load.returncode == 0, stderr
            assert stale_at - traffic < 5.0 and divergent_at - traffic < 5.0
            assert traffic - began < 20.0, traffic - began
            assert f"shown live on the dashboard at {url}\n" in stderr
            assert "load: 10 Locust users for 6 s\n" in stderr
            assert "stale reads seen live=" in stderr and "inconsistent" in stdout
            report = json.loads((out / "private.json").read_text())
            _, done = await snapshots.first(lambda s: s["verdict"]["state"] == "finished")
        # the stack `up` started, described as `up` describes it: not "started by someone else",
        # and not "stack up in 0.01 s" for a stack that was already up
        described = json.loads((state / "run" / "stack.json").read_text())["layout"]
        assert report["run"]["layout"]["summary"] == described["summary"]
        assert "stack up in" not in stderr and "replicas answer" in stderr
        verdict = done["verdict"]
        assert verdict["text"] == "INCONSISTENT" and verdict["source"] == "load"
        assert verdict["stale_reads"] == report["anomalies"]["stale_read"]["count"] > 0
        assert verdict["lost_writes"] == report["lost_writes"]["count"]
        assert verdict["report"]["html"] == str(out / "private.html")
        series = done["series"]["current"]
        assert series["label"] == "private" and max(series["stale_reads_per_s"]) > 0
        async with ClientSession() as http, http.get(url + verdict["report"]["url"]) as r:
            assert r.status == 200 and "private" in await r.text()  # no token needed
    # after down and up: no load yet, the last run beside for contrast
    with detached_stack(state, "--storage", "shared", "--replicas", "1") as (url, token):
        async with streaming(url, token) as snapshots:
            _, fresh = await snapshots.first(lambda s: s.get("stack") is not None)
    assert fresh["verdict"]["text"] == "no load yet" and fresh["series"]["current"] is None
    assert fresh["series"]["previous"] == series


def _under_load(snapshot: dict[str, Any]) -> bool:
    return (
        snapshot["verdict"]["state"] == "running" and (snapshot["counts"]["load"]["ops"] or 0) > 0
    )


@pytest.mark.slow
async def test_shared_storage_reads_0_divergent_keys_in_100_snapshots_under_load(
    tmp_path: Path,
) -> None:
    state, out = tmp_path / "state", tmp_path / "out"
    with detached_stack(state, "--storage", "shared", "--dashboard-interval", "0.1") as (
        url,
        token,
    ):
        async with streaming(url, token) as snapshots:
            await snapshots.first(lambda s: s.get("stack") is not None)
            # as long as it takes a loaded machine to sample 110 times under load, then Ctrl-C
            load = await load_process(
                state, "--duration", "120", "--users", "20", "--out", str(out)
            )
            try:
                deadline = time.monotonic() + 110
                while sum(_under_load(s) for _, s in snapshots.seen) < 110:
                    assert time.monotonic() < deadline and load.returncode is None
                    await asyncio.sleep(0.2)
                load.send_signal(signal.SIGINT)
                _, stderr = await finish(load, 60)
            finally:
                if load.returncode is None:
                    load.kill()
                    await load.wait()
            assert load.returncode == 130, stderr
            _, ended = await snapshots.first(lambda s: s["verdict"]["state"] == "finished")
        during = [s for _, s in snapshots.seen if _under_load(s)]
        assert len(during) >= 100, len(during)
        assert [s["counts"]["divergent_keys"] for s in during] == [0] * len(during)
        assert [s["counts"]["load"]["stale_reads"] for s in during] == [0] * len(during)
        # the count compared keys under load (it is not 0 for want of looking)
        assert sum(s["counts"]["keys_compared"] for s in during) > len(during)
        assert ended["verdict"]["text"] == "consistent so far"  # interrupted: not checked


def _listeners(port: int) -> list[str]:
    """The local addresses listening on ``port`` (IPv4 and IPv6), from /proc."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for row in f.readlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.rsplit(":", 1)
                if state == "0A" and int(hex_port, 16) == port:
                    found.append(address)
    return found


@pytest.mark.slow
async def test_locusts_web_ui_binds_loopback_and_feeds_the_dashboard(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with detached_stack(state, "--storage", "private", "--dashboard-interval", "0.25") as (
        url,
        token,
    ):
        async with streaming(url, token) as snapshots:
            web = await load_process(state, "--web", "--web-port", "0", "--out", str(tmp_path))
            try:
                assert web.stderr is not None
                ui = None
                while ui is None:
                    line = (await asyncio.wait_for(web.stderr.readline(), 60)).decode()
                    assert line, "lbdemo load --web ended early"
                    ui = re.search(r"Locust's web UI: http://127\.0\.0\.1:(\d+)/", line)
                port = int(ui[1])
                async with ClientSession() as http:
                    for _ in range(100):  # until Locust's web server is up
                        with contextlib.suppress(OSError):
                            async with http.post(
                                f"http://127.0.0.1:{port}/swarm",
                                data={"user_count": "5", "spawn_rate": "5"},
                            ) as r:
                                assert r.status == 200
                                break
                        await asyncio.sleep(0.2)
                assert _listeners(port) == ["0100007F"]  # 127.0.0.1 only
                _, shown = await snapshots.first(
                    lambda s: (s["counts"]["load"]["stale_reads"] or 0) > 0
                )
                assert shown["verdict"]["source"] == "web"
                web.send_signal(signal.SIGTERM)
                await finish(web, 30)
            finally:
                if web.returncode is None:
                    web.kill()
                    await web.wait()
            await snapshots.first(lambda s: s["verdict"]["state"] == "finished")
        assert _listeners(port) == []  # Locust went with it


@pytest.mark.slow
async def test_a_replica_killed_during_the_load_is_audited_as_its_replacement(
    tmp_path: Path,
) -> None:
    state, out = tmp_path / "state", tmp_path / "out"
    with detached_stack(state, "--storage", "private", "--replicas", "2") as (url, token):
        before = json.loads((state / "run" / "stack.json").read_text())
        old_url = next(r["url"] for r in before["replicas"] if r["name"] == "lbdemo-r2")
        async with streaming(url, token) as snapshots:
            load = await load_process(
                state, "--duration", "6", "--users", "5", "--think-time", str(THINK_MS),
                "--out", str(out),
            )  # fmt: skip
            try:
                await snapshots.first(lambda s: (s["counts"]["load"]["ops"] or 0) > 0)
                killed = await asyncio.to_thread(lbdemo, state, "kill", "lbdemo-r2")
                assert killed.returncode == 0, killed.stderr
                _, dead = await snapshots.first(lambda s: any(c["dead"] for c in s["replicas"]))
                _, stderr = await finish(load)
            finally:
                if load.returncode is None:
                    load.kill()
                    await load.wait()
        assert load.returncode == 0, stderr
        after = json.loads((state / "run" / "stack.json").read_text())
        new_url = next(r["url"] for r in after["replicas"] if r["name"] == "lbdemo-r2")
        assert new_url != old_url  # a fresh container: the audit asked that one
        audit = json.loads((out / "private-audit.json").read_text())
        assert sorted(audit["replicas"]) == ["lbdemo-r1", "lbdemo-r2"]
        assert "died, exit status 137" in [c["health"] for c in dead["replicas"]]
