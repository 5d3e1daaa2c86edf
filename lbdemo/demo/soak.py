"""The soak: a stack under load for minutes, a fault every interval, memory and descriptors
sampled.

On top of the pipeline (:func:`lbdemo.demo.pipeline.run_under_load`): while Locust loads the
shared-storage stack through the balancer, the nemesis injects the next fault of its cycle at
every interval (held a few seconds, then healed), and every few seconds ``VmRSS`` and the open
descriptors of the balancer and of each replica process are read from /proc. A replica the
nemesis killed is replaced by a new process: each process is its own series.

Growth is measured from the first sample taken after a warm-up under load (a fresh Python
process grows while its first requests fill caches and pools) to the last sample. The goal:
memory growth under 10 %, descriptors flat (within a few, for pooled connections).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from lbdemo.checker import Audit
from lbdemo.demo.faults import balancer_retries, fault_section
from lbdemo.demo.pipeline import RunContext, Scenario, wait_for_traffic
from lbdemo.faults.nemesis import FAULTS, Injected, Nemesis
from lbdemo.faults.sampling import Series
from lbdemo.history import History
from lbdemo.load.run import LocustRun

MEMORY_GOAL_PCT = 10.0
FD_SLACK = 4  # pooled keep-alive connections come and go: "flat" allows this much
HOLD_S = 3.0


class SoakScenario(Scenario):
    name = "soak"

    def __init__(
        self, *, fault_every_s: float = 60.0, sample_every_s: float = 5.0, warmup_s: float = 10.0
    ) -> None:
        self.fault_every_s = fault_every_s
        self.sample_every_s = sample_every_s
        self.warmup_s = warmup_s
        self.nemesis: Nemesis | None = None
        self.injected: list[Injected] = []
        self.retries: list[int | None] = []
        self.series: dict[int, Series] = {}  # pid -> its samples
        self.began = 0.0

    async def before(self, ctx: RunContext) -> None:
        self.nemesis = Nemesis(ctx.local_stack)
        await self.nemesis.start()

    async def during(self, ctx: RunContext, load: asyncio.Task[LocustRun]) -> None:
        nemesis = self.nemesis
        assert nemesis is not None, "before() first"
        sampler: asyncio.Task[None] | None = None
        try:
            await wait_for_traffic(ctx.history_file, load)
            self.began = time.monotonic()
            await asyncio.wait({load}, timeout=self.warmup_s)
            sampler = asyncio.create_task(self._sample_until(ctx, load))
            number = 0
            while not load.done():
                # On a fixed beat (every fault_every_s from the first operation), however long
                # the last fault took to heal.
                number += 1
                wait = self.began + number * self.fault_every_s - time.monotonic()
                await asyncio.wait({load}, timeout=max(0.0, wait))
                if load.done():
                    break
                fault = FAULTS[(number - 1) % len(FAULTS)]
                self.retries.append(await balancer_retries(ctx))
                injected = await nemesis.inject(fault)
                ctx.progress(f"fault {number}: {fault} on {injected.target or '-'}")
                await asyncio.wait({load}, timeout=HOLD_S)
                await nemesis.heal(injected)
                self.injected.append(injected)
                ctx.periods.append(
                    {
                        "label": f"{fault} ({injected.target})",
                        "start": injected.start,
                        "end": injected.end,
                    }
                )
            self.retries.append(await balancer_retries(ctx))
            await sampler
        finally:
            if sampler is not None and not sampler.done():
                sampler.cancel()
                await asyncio.gather(sampler, return_exceptions=True)
            await nemesis.close()

    async def _sample_until(self, ctx: RunContext, load: asyncio.Task[LocustRun]) -> None:
        while True:
            self._sample(ctx)
            if load.done():
                return
            await asyncio.wait({load}, timeout=self.sample_every_s)

    def _sample(self, ctx: RunContext) -> None:
        t = time.monotonic() - self.began
        stack = ctx.local_stack
        processes = [("balancer", stack.balancer.pid)] if stack.balancer else []
        processes += [(r.name, r.pid) for r in stack.replicas]
        for name, pid in processes:
            self.series.setdefault(pid, Series(name, pid)).take(t)

    def report_section(self, ctx: RunContext, history: History, audit: Audit) -> dict[str, Any]:
        faults = fault_section(history, audit, self.injected, self.retries, storage="shared")
        processes = [s.summary() for s in self.series.values() if s.samples]
        return {
            "fault_every_s": self.fault_every_s,
            "sample_every_s": self.sample_every_s,
            "warmup_s": self.warmup_s,
            "processes": processes,
            "faults": faults,
            "goal_problems": soak_problems(processes, faults, self.fault_every_s),
        }

    def render_section(self, section: dict[str, Any]) -> str:
        return "\n" + render_soak(section)


def soak_problems(
    processes: list[dict[str, Any]], faults: dict[str, Any], fault_every_s: float
) -> list[str]:
    """What missed the goal: memory growth, descriptor growth (for processes that lived most
    of the soak), stale reads, lost writes."""
    problems = list(faults["goal_problems"])
    longest = max((p["to_s"] - p["from_s"] for p in processes), default=0.0)
    for p in processes:
        if p["to_s"] - p["from_s"] < longest / 2:
            continue  # a replacement that lived a short while: its growth is its warm-up
        growth = p["rss_kib"]["growth_pct"]
        if growth is not None and growth >= MEMORY_GOAL_PCT:
            problems.append(f"{p['name']} (pid {p['pid']}): memory grew {growth:.1f} %")
        if p["fds"]["growth"] > FD_SLACK:
            problems.append(
                f"{p['name']} (pid {p['pid']}): {p['fds']['growth']} more open "
                "descriptors at the end"
            )
    return problems


def render_soak(section: dict[str, Any]) -> str:
    lines = [
        "## Soak: memory and descriptors",
        "",
        f"Sampled every {section['sample_every_s']:g} s from {section['warmup_s']:g} s after "
        f"the first operation; a fault every {section['fault_every_s']:g} s. Growth is from the "
        "first sample to the last of each process (a replaced replica is a new process).",
        "",
        "| process | pid | lived (s) | samples | VmRSS start / end / max (MiB) | growth "
        "| open fds start / end / max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in section["processes"]:
        rss, fds = p["rss_kib"], p["fds"]
        growth = "-" if rss["growth_pct"] is None else f"{rss['growth_pct']:+.1f} %"
        lines.append(
            f"| {p['name']} | {p['pid']} | {p['from_s']:.0f}-{p['to_s']:.0f} | {p['samples']} "
            f"| {rss['start'] / 1024:.1f} / {rss['end'] / 1024:.1f} / {rss['max'] / 1024:.1f} "
            f"| {growth} | {fds['start']} / {fds['end']} / {fds['max']} |"
        )
    problems = section["goal_problems"]
    verdict = "**met**." if not problems else "**not met**: " + "; ".join(problems) + "."
    lines += [
        "",
        f"Goal (memory growth under {MEMORY_GOAL_PCT:g} %, descriptors flat within "
        f"{FD_SLACK}, no stale read, no lost write): {verdict}",
    ]
    return "\n".join(lines) + "\n"
