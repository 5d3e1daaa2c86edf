"""The upgrade scenario: a rolling upgrade under load, in one storage layout.

Start a stack on ``lbdemo/catalog:1.0``; write K products through the balancer (acknowledged
writes, unique write ids); run the Locust workload while the supervisor replaces every replica
container with a ``1.1`` one (start new, join, drain old, remove old with its layer); then ask
every replica directly which of the K writes it still has. The lesson, in numbers:

* no request fails during the upgrade (in both layouts: replacing is safe for the *service*);
* with private storage every pre-upgrade write is gone (the data was in the old containers'
  layers); with shared storage all of them survive (the data was on the volume).

``run_upgrade_scenario(config, progress)`` returns the report dict and writes
``upgrade-<storage>.json``/``.md`` and the Locust history to ``config.out_dir``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from lbdemo.history import Op, read_history
from lbdemo.loadrun import run_locust
from lbdemo.stack import Stack, StackConfig, Storage

Progress = Callable[[str], None]
HISTORY_WAIT_S = 30.0  # Locust needs a moment (gevent, spawning users) before its first request


@dataclass(frozen=True)
class UpgradeScenarioConfig:
    storage: Storage
    state_root: Path
    out_dir: Path
    replicas: int = 3
    keys: int = 20  # products written before the upgrade
    users: int = 4
    duration_s: float = 15.0
    from_image: str = "lbdemo/catalog:1.0"
    to_image: str = "lbdemo/catalog:1.1"

    @property
    def name(self) -> str:
        return f"upgrade-{self.storage}"


async def run_upgrade_scenario(config: UpgradeScenarioConfig, progress: Progress) -> dict[str, Any]:
    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    history_file = out / f"{config.name}-history.jsonl"
    stack = Stack(StackConfig(
        state_root=config.state_root, replicas=config.replicas, storage=config.storage,
        image=config.from_image, balancer_listen="127.0.0.1:0",
    ))  # fmt: skip
    progress(f"starting {config.replicas} replicas ({config.from_image}, {config.storage} storage)")
    await stack.start()
    try:
        acked = await _write_keys(stack.url, config.keys)
        progress(f"{len(acked)}/{config.keys} pre-upgrade writes acknowledged")
        locust = asyncio.create_task(run_locust(
            stack.url, history_file, users=config.users, spawn_rate=config.users,
            duration_s=config.duration_s, keys=8, write_ratio=0.3,
        ))  # fmt: skip
        try:
            await _wait_for_traffic(history_file, locust)
            progress(f"traffic flowing; rolling upgrade to {config.to_image}")
            began = time.monotonic()
            replaced = await stack.runtime.upgrade(config.to_image, progress)
            ended = time.monotonic()
            progress(f"upgrade done in {ended - began:.2f} s; waiting for the load to finish")
            run = await locust
        finally:
            if not locust.done():
                locust.cancel()
                await asyncio.gather(locust, return_exceptions=True)
        survival = await _survival(stack, acked)
        images = sorted({r.image for r in stack.replicas})
    finally:
        await stack.stop()
    ops = read_history([history_file]).ops
    during = [op for op in ops if began <= op.invoke <= ended]
    failed = _failed(ops)
    failed_during = [op for op in failed if began <= op.invoke <= ended]
    stats = run.stats
    report: dict[str, Any] = {
        "scenario": config.name,
        "storage": config.storage,
        "replicas": config.replicas,
        "from_image": config.from_image,
        "to_image": config.to_image,
        "images_after": images,
        "upgrade_s": round(ended - began, 3),
        "replaced": replaced,
        "pre_upgrade_writes_acknowledged": len(acked),
        "pre_upgrade_writes_survived": survival,
        "requests": len(ops),
        "requests_during_upgrade": len(during),
        "requests_after_upgrade": sum(1 for op in ops if op.invoke > ended),
        "failed_requests": len(failed),
        "failed_requests_during_upgrade": len(failed_during),
        "locust": {
            "exit_code": run.exit_code,
            "requests": stats.requests if stats else None,
            "failures": stats.failures if stats else None,
            "stale_reads": stats.stale_reads if stats else None,
        },
        "files": {"history": history_file.name},
    }
    (out / f"{config.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{config.name}.md").write_text(render_upgrade_markdown(report))
    return report


def _failed(ops: list[Op]) -> list[Op]:
    """Requests that failed: a 5xx, a refused connection, or a cut one; not the last request of
    each Locust user, which the end of the run interrupts on purpose."""
    last = {op.client: op for op in sorted(ops, key=lambda o: o.invoke)}
    return [
        op for op in ops
        if (op.status is not None and op.status >= 500)
        or (op.status is None and op is not last[op.client])
    ]  # fmt: skip


async def _write_keys(url: str, keys: int) -> dict[str, str]:
    """PUT ``pre-<i>`` with a unique write id each; returns the acknowledged key -> write id."""
    run = secrets.token_hex(4)
    acked: dict[str, str] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        for i in range(keys):
            key, write_id = f"pre-{i}", f"pre-{run}-{i}"
            async with http.put(f"{url}/products/{key}",
                                json={"price": 1000 + i, "write_id": write_id}) as r:
                if r.status == 200:
                    acked[key] = write_id
    return acked


async def _wait_for_traffic(history_file: Path, locust: asyncio.Task[Any]) -> None:
    deadline = time.monotonic() + HISTORY_WAIT_S
    while time.monotonic() < deadline and not locust.done():
        try:
            with history_file.open("rb") as f:
                if sum(1 for _ in f) > 5:
                    return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    if locust.done():
        await locust  # raises the crash, if that is why it ended
    raise TimeoutError("Locust sent no request in time")


async def _survival(stack: Stack, acked: dict[str, str]) -> dict[str, int]:
    """Per replica (asked directly, not through the balancer): how many acked writes it has."""
    found: dict[str, int] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        for replica in stack.replicas:
            async with http.get(f"{replica.url}/products") as r:
                products = (await r.json())["products"]
            found[replica.name] = sum(1 for k, w in acked.items() if products.get(k) == w)
    return found


def render_upgrade_markdown(report: dict[str, Any]) -> str:
    survived = report["pre_upgrade_writes_survived"]
    acked = report["pre_upgrade_writes_acknowledged"]
    lines = [
        f"# Rolling upgrade, {report['storage']} storage",
        "",
        f"{report['replicas']} replicas, {report['from_image']} -> {report['to_image']}, "
        f"one container at a time, under continuous Locust traffic "
        f"({report['upgrade_s']:.2f} s).",
        "",
        "| | |",
        "|---|---|",
        f"| requests (during the upgrade) | {report['requests']} "
        f"({report['requests_during_upgrade']}) |",
        f"| failed requests (during the upgrade) | {report['failed_requests']} "
        f"({report['failed_requests_during_upgrade']}) |",
        f"| replicas now run | {', '.join(report['images_after'])} |",
        f"| pre-upgrade acknowledged writes | {acked} |",
    ]
    for name, count in survived.items():
        lines.append(f"| ... still on {name} | {count} of {acked} |")
    lines += ["", "| old container | new container |", "|---|---|"]
    for step in report["replaced"]:
        lines.append(
            f"| {step['old']} `{step['old_id'][:12]}` ({step['old_image']}) "
            f"| {step['new']} `{step['new_id'][:12]}` ({step['new_image']}) |"
        )
    verdict = (
        "The data lived in the old containers' layers: it was removed with them."
        if report["storage"] == "private"
        else "The data lives on the named volume: replacing every replica lost nothing."
    )
    lines += ["", verdict, ""]
    return "\n".join(lines)
