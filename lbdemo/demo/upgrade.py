"""The upgrade scenario: a rolling upgrade under load, on top of the pipeline.

Before the load, K products are written through the balancer (acknowledged writes, unique write
ids). While Locust loads the stack, the supervisor replaces every replica container with one of
the new image (start new, join, drain old, remove old with its layer). The final audit asks
every replica directly which of the K writes it still has. The lesson, in numbers:

* no request fails during the upgrade (in both layouts: replacing is safe for the *service*);
* with private storage every pre-upgrade write is gone (the data was in the old containers'
  layers); with shared storage all of them survive (the data was on the volume).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import aiohttp

from lbdemo.checker import Audit
from lbdemo.demo.pipeline import RunContext, Scenario, wait_for_traffic
from lbdemo.history import History, Op
from lbdemo.load.run import LocustRun

PRE_UPGRADE_KEYS = 20
TO_IMAGE = "lbdemo/catalog:1.1"


class UpgradeScenario(Scenario):
    name = "upgrade"

    def __init__(self, to_image: str = TO_IMAGE, keys: int = PRE_UPGRADE_KEYS) -> None:
        self.to_image = to_image
        self.keys = keys
        self.acked: dict[str, str] = {}
        self.replaced: list[dict[str, str]] = []
        self.began = self.ended = 0.0

    async def before(self, ctx: RunContext) -> None:
        self.acked = await _write_keys(ctx.stack.url, self.keys)
        ctx.extra_audit_keys.update(self.acked)
        ctx.progress(f"{len(self.acked)}/{self.keys} pre-upgrade writes acknowledged")

    async def during(self, ctx: RunContext, load: asyncio.Task[LocustRun]) -> None:
        await wait_for_traffic(ctx.history_file, load)
        ctx.progress(f"traffic flowing; rolling upgrade to {self.to_image}")
        self.began = time.monotonic()
        self.replaced = await ctx.live_stack.upgrade(self.to_image, ctx.progress)
        self.ended = time.monotonic()
        ctx.periods.append({"label": "rolling upgrade", "start": self.began, "end": self.ended})
        ctx.progress(f"upgrade done in {self.ended - self.began:.2f} s; the load goes on")

    def report_section(self, ctx: RunContext, history: History, audit: Audit) -> dict[str, Any]:
        ops = history.ops
        during = [op for op in ops if self.began <= op.invoke <= self.ended]
        failed = failed_requests(ops)
        survived = {
            name: sum(1 for key, write_id in self.acked.items() if values.get(key) == write_id)
            for name, values in audit.replicas.items()
        }
        return {
            "from_image": ctx.spec.stack.image,
            "to_image": self.to_image,
            "images_after": sorted({r.image for r in ctx.live_stack.replicas} or {self.to_image}),
            "upgrade_s": round(self.ended - self.began, 3),
            "replaced": self.replaced,
            "requests_during_upgrade": len(during),
            "requests_after_upgrade": sum(1 for op in ops if op.invoke > self.ended),
            "failed_requests": len(failed),
            "failed_requests_during_upgrade": sum(
                1 for op in failed if self.began <= op.invoke <= self.ended
            ),
            "pre_upgrade_writes_acknowledged": len(self.acked),
            "pre_upgrade_writes_survived": survived,
        }

    def render_section(self, section: dict[str, Any]) -> str:
        acked = section["pre_upgrade_writes_acknowledged"]
        lines = [
            "",
            f"## Rolling upgrade: {section['from_image']} -> {section['to_image']}",
            "",
            f"One container at a time, under the load ({section['upgrade_s']:.2f} s).",
            "",
            "| | |",
            "|---|---:|",
            f"| requests during the upgrade | {section['requests_during_upgrade']:,} |",
            f"| failed requests during the upgrade | "
            f"{section['failed_requests_during_upgrade']:,} |",
            f"| failed requests in the whole run | {section['failed_requests']:,} |",
            f"| pre-upgrade acknowledged writes | {acked:,} |",
        ]
        for name, count in section["pre_upgrade_writes_survived"].items():
            lines.append(f"| ... still on {name} | {count:,} of {acked:,} |")
        lines += ["", "| old container | new container |", "|---|---|"]
        for step in section["replaced"]:
            lines.append(
                f"| {step['old']} `{step['old_id'][:12]}` ({step['old_image']}) "
                f"| {step['new']} `{step['new_id'][:12]}` ({step['new_image']}) |"
            )
        return "\n".join(lines) + "\n"


def failed_requests(ops: list[Op]) -> list[Op]:
    """Requests that failed: a 5xx, a refused connection, or a cut one; not the last request of
    each Locust user, which the end of the run interrupts on purpose."""
    last = {op.client: op for op in sorted(ops, key=lambda o: o.invoke)}
    return [
        op
        for op in ops
        if (op.status is not None and op.status >= 500)
        or (op.status is None and op is not last[op.client])
    ]


async def _write_keys(url: str, keys: int) -> dict[str, str]:
    """PUT ``pre-<run>-<i>`` with a unique write id each; returns acknowledged key -> write id."""
    run = secrets.token_hex(4)
    acked: dict[str, str] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        for i in range(keys):
            key, write_id = f"pre-{run}-{i}", f"pre-{run}-w{i}"
            async with http.put(
                f"{url}/products/{key}", json={"price": 1000 + i, "write_id": write_id}
            ) as r:
                if r.status == 200:
                    acked[key] = write_id
    return acked
