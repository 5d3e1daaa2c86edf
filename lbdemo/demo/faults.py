"""The faults scenario: a nemesis under load, on top of the pipeline.

While Locust loads the stack through the balancer, the nemesis (:mod:`lbdemo.faults.nemesis`)
injects one fault after another, each held a few seconds, then healed, then given a few
seconds to recover: kill -9 of a replica, SIGSTOP/SIGCONT of a replica, kill -9 of the store
(restarted on its volume), 200 ms of added latency and then connection resets on one replica
(through the fault proxy). Each fault's active period goes into the report's ``run.periods``;
this scenario's section counts, per fault, what the clients saw:

The next fault waits until every replica is back in the rotation (at most 10 s), so that
no fault inherits the failures of the one before.

* requests during the fault, failed requests during it and after it (until the next fault),
  the balancer's retries (from its ``/metrics``), latency of the successful ones;
* stale reads and lost acknowledged writes among the operations of the fault's window;
* time to recover: the first success after the fault ended, and when the last failure was.

Then the durability proof (:mod:`lbdemo.checker.durability`) accounts for every acknowledged
and every unknown write of the run against the final audit. The goal for shared storage: no
stale read, no lost write under any fault, failures only while a fault is active, recovery
within 10 s of its end.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from lbdemo.checker import Audit, check
from lbdemo.checker.anomalies import STALE_READ
from lbdemo.checker.durability import prove_durability, render_durability
from lbdemo.demo.pipeline import RunContext, Scenario, wait_for_traffic
from lbdemo.demo.upgrade import failed_requests
from lbdemo.faults.balancer_metrics import parse_retries, scrape_metrics
from lbdemo.faults.nemesis import FAULTS, SETTLE_TIMEOUT_S, Injected, Nemesis
from lbdemo.history import History, Op
from lbdemo.load.run import LocustRun
from lbdemo.report.stats import percentile

DEFAULT_DURATION_S = 40.0  # warm-up + 5 faults x (hold + recovery) + a tail, per layout
WARMUP_S = 2.0
HOLD_S = 2.5
GAP_S = 1.5  # at least this long after a fault's end; then until every replica is back up
RECOVERY_GOAL_S = 10.0

DESCRIPTIONS = {
    "kill-replica": "kill -9 of a replica (replaced by the supervisor)",
    "pause-replica": "SIGSTOP of a replica, SIGCONT at the end",
    "kill-store": "kill -9 of PostgreSQL (shared: restarted on its volume; private: its "
    "replica dies with it and is replaced, empty)",
    "latency": "200 ms added to every answer of a replica",
    "reset": "every connection to a replica reset (RST)",
}


class FaultsScenario(Scenario):
    name = "faults"

    def __init__(
        self,
        faults: tuple[str, ...] = FAULTS,
        *,
        hold_s: float = HOLD_S,
        gap_s: float = GAP_S,
        warmup_s: float = WARMUP_S,
    ) -> None:
        self.faults = faults
        self.hold_s, self.gap_s, self.warmup_s = hold_s, gap_s, warmup_s
        self.nemesis: Nemesis | None = None
        self.injected: list[Injected] = []
        self.retries: list[int | None] = []  # at each fault's start, then once after the load

    async def before(self, ctx: RunContext) -> None:
        self.nemesis = Nemesis(ctx.live_stack)
        await self.nemesis.start()
        ctx.progress(f"fault proxy in front of {self.nemesis.proxied} at {self.nemesis.proxy_url}")

    async def during(self, ctx: RunContext, load: asyncio.Task[LocustRun]) -> None:
        nemesis = self.nemesis
        assert nemesis is not None, "before() first"
        try:
            await wait_for_traffic(ctx.history_file, load)
            await _sleep_while(load, self.warmup_s)
            for fault in self.faults:
                if load.done():
                    ctx.progress(f"the load ended before {fault}: not injected")
                    break
                self.retries.append(await balancer_retries(ctx))
                injected = await nemesis.inject(fault)
                ctx.progress(f"fault: {fault} on {injected.target or '-'} {injected.note}")
                await _sleep_while(load, self.hold_s)
                await nemesis.heal(injected)
                self.injected.append(injected)
                ctx.periods.append(
                    {
                        "label": f"{fault} ({injected.target})",
                        "start": injected.start,
                        "end": injected.end,
                    }
                )
                ctx.progress(
                    f"healed: {fault} after {injected.end - injected.start:.1f} s "
                    f"{injected.note if fault != 'latency' else ''}"
                )
                await _sleep_while(load, self.gap_s)
                if not load.done() and not await _settled(nemesis, load):
                    ctx.progress(f"not every replica back up {SETTLE_TIMEOUT_S:g} s after {fault}")
            await asyncio.wait({load})  # the proxy stays until the load is over
            self.retries.append(await balancer_retries(ctx))
        finally:
            await nemesis.close()

    def report_section(self, ctx: RunContext, history: History, audit: Audit) -> dict[str, Any]:
        return fault_section(
            history, audit, self.injected, self.retries, storage=ctx.spec.stack.layout.storage
        )

    def render_section(self, section: dict[str, Any]) -> str:
        return "\n" + render_fault_section(section)


async def _sleep_while(load: asyncio.Task[LocustRun], seconds: float) -> None:
    """Sleep ``seconds``, or less if the load ends first."""
    await asyncio.wait({load}, timeout=seconds)


async def _settled(nemesis: Nemesis, load: asyncio.Task[LocustRun]) -> bool:
    """Until the stack has recovered (or the load ended: then there is nothing to wait for)."""
    settle = asyncio.create_task(nemesis.settled())
    await asyncio.wait({settle, load}, return_when=asyncio.FIRST_COMPLETED)
    if not settle.done():
        settle.cancel()
        await asyncio.gather(settle, return_exceptions=True)
        return True
    return settle.result()


async def balancer_retries(ctx: RunContext) -> int | None:
    """The balancer's retry counter now (from its admin /metrics), or None without an admin API."""
    stack = ctx.live_stack
    if stack.admin_url is None:
        return None
    return parse_retries(await scrape_metrics(stack.admin_url, stack.config.admin_token))


# ---- the section: pure functions over the history, the audit and what was injected ------------


def fault_section(
    history: History,
    audit: Audit,
    injected: list[Injected],
    retries: list[int | None],
    *,
    storage: str,
) -> dict[str, Any]:
    ops = history.ops
    t0 = history.t0
    failed = failed_requests(ops)
    stale = [op for kind, op in check(history, None).offenders() if kind == STALE_READ]
    proof = prove_durability(ops, audit)
    lost = proof.lost_writes()
    rows = []
    for i, fault in enumerate(injected):
        window_end = injected[i + 1].start if i + 1 < len(injected) else math.inf
        rows.append(_fault_row(fault, window_end, ops, failed, stale, lost, t0, _delta(retries, i)))
    first = injected[0].start if injected else math.inf
    before = [op for op in ops if op.invoke < first]
    section: dict[str, Any] = {
        "storage": storage,
        "recovery_goal_s": RECOVERY_GOAL_S,
        "before_faults": {
            "requests": len(before),
            "failed": sum(1 for op in failed if op.complete < first),
            "stale_reads": sum(1 for op in stale if op.invoke < first),
        },
        "faults": rows,
        "durability": proof.to_dict(),
    }
    section["goal_problems"] = goal_problems(section)
    return section


def _delta(retries: list[int | None], i: int) -> int | None:
    if i + 1 >= len(retries):
        return None
    before, after = retries[i], retries[i + 1]
    return None if before is None or after is None else after - before


def _fault_row(
    fault: Injected,
    window_end: float,
    ops: list[Op],
    failed: list[Op],
    stale: list[Op],
    lost: list[Op],
    t0: float,
    retried: int | None,
) -> dict[str, Any]:
    start, end = fault.start, fault.end

    def in_window(op: Op) -> bool:
        return start <= op.invoke < window_end

    active = [op for op in ops if start <= op.invoke <= end]
    unknown = [op for op in ops if op.op == "write" and op.outcome == "unknown"]
    latencies = sorted(op.complete - op.invoke for op in active if op.outcome == "ok")
    # A failure belongs to the fault it ended under: a request sent just before a kill and
    # cut by it is that kill's failure.
    during_failures = [op for op in failed if start <= op.complete <= end]
    after_failures = [op for op in failed if end < op.complete < window_end]
    first_ok = next((op for op in ops if op.invoke >= end and op.outcome == "ok"), None)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    last_failure = max((op.complete for op in after_failures), default=end)
    return {
        "fault": fault.fault,
        "description": DESCRIPTIONS.get(fault.fault, fault.fault),
        "target": fault.target,
        "note": fault.note,
        "start_s": round(start - t0, 3),
        "end_s": round(end - t0, 3),
        "active_s": round(end - start, 3),
        "requests": len(active),
        "failed_during": len(during_failures),
        "failed_after": len(after_failures),
        "retried": retried,
        "unknown_writes": sum(1 for op in unknown if in_window(op)),
        "stale_reads": sum(1 for op in stale if in_window(op)),
        "lost_writes": sum(1 for op in lost if in_window(op)),
        "p50_ms": None if p50 is None else round(p50 * 1000, 1),
        "p99_ms": None if p99 is None else round(p99 * 1000, 1),
        "first_success_after_s": None if first_ok is None else round(first_ok.complete - end, 3),
        "recovered_after_s": round(last_failure - end, 3),
    }


def goal_problems(section: dict[str, Any]) -> list[str]:
    """For shared storage: what fell short of the goal, one sentence each (none: goal met)."""
    if section["storage"] != "shared":
        return []
    problems = []
    goal = section["recovery_goal_s"]
    for row in section["faults"]:
        name = row["fault"]
        if row["stale_reads"]:
            problems.append(f"{name}: {row['stale_reads']} stale reads")
        if row["lost_writes"]:
            problems.append(f"{name}: {row['lost_writes']} acknowledged writes lost")
        if row["recovered_after_s"] > goal:
            problems.append(
                f"{name}: failures went on {row['recovered_after_s']:.1f} s after "
                f"the fault ended (goal {goal:g} s)"
            )
        if row["first_success_after_s"] is None:
            problems.append(f"{name}: no request succeeded after the fault ended")
    if section["before_faults"]["failed"]:
        problems.append(f"{section['before_faults']['failed']} requests failed before any fault")
    if section["durability"]["totals"]["lost"]:
        problems.append(
            f"the durability proof found {section['durability']['totals']['lost']} "
            "lost acknowledged writes"
        )
    return problems


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


def render_fault_section(section: dict[str, Any]) -> str:
    before = section["before_faults"]
    lines = [
        f"## Faults under load ({section['storage']} storage)",
        "",
        f"Before the first fault: {before['requests']:,} requests, {before['failed']:,} failed, "
        f"{before['stale_reads']:,} stale reads. Each fault's window runs from its start to the "
        "next fault's start; *active* is from injection to heal (for a kill: until the "
        "supervisor brought the container back). *Requests* were sent while it was active; "
        "a failure counts under the fault it ended under (*during* or *after* it); stale reads "
        "and lost writes count under the window they were sent in.",
        "",
        "| fault | target | active (s) | requests | failed during | failed after | retried "
        "| unknown writes | stale reads | lost writes | p50 / p99 (ms) | first success after "
        "(s) | failures until (s after end) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in section["faults"]:
        retried = "-" if r["retried"] is None else f"{r['retried']:,}"
        lines.append(
            f"| {r['fault']}: {r['description']} | {r['target'] or '-'} | {r['active_s']:.2f} "
            f"| {r['requests']:,} | {r['failed_during']:,} | {r['failed_after']:,} | {retried} "
            f"| {r['unknown_writes']:,} | {r['stale_reads']:,} | {r['lost_writes']:,} "
            f"| {_ms(r['p50_ms'])} / {_ms(r['p99_ms'])} | {_s(r['first_success_after_s'])} "
            f"| {r['recovered_after_s']:.2f} |"
        )
    notes = [f"{r['fault']}: {r['note']}" for r in section["faults"] if "not back" in r["note"]]
    if notes:
        lines += ["", "Not healed in time: " + "; ".join(notes) + "."]
    problems = section["goal_problems"]
    if section["storage"] == "shared":
        verdict = "**met**." if not problems else "**not met**: " + "; ".join(problems) + "."
        lines += [
            "",
            "Goal (0 stale reads, 0 lost writes, failures stop within "
            f"{section['recovery_goal_s']:g} s of a fault's end): {verdict}",
        ]
    lines += ["", "### Durability proof", "", render_durability(section["durability"])]
    return "\n".join(lines)


# ---- across layouts: the comparison and the one page that shows it all ------------------------


def faults_table(reports: list[dict[str, Any]]) -> str:
    """Per fault, side by side per layout: failed (during / after), stale reads, lost writes,
    recovery."""
    storages = [r["run"]["layout"]["storage"] for r in reports]
    lines = [
        "| fault | "
        + " | ".join(
            f"{s}: failed during / after | {s}: stale reads | {s}: lost writes "
            f"| {s}: failures until (s after end)"
            for s in storages
        )
        + " |",
        "|---|" + "---:|---:|---:|---:|" * len(reports),
    ]
    names = [row["fault"] for row in reports[0]["faults"]["faults"]] if reports else []
    for name in names:
        cells = []
        for report in reports:
            row = next((r for r in report["faults"]["faults"] if r["fault"] == name), None)
            if row is None:
                cells.append("- | - | - | -")
                continue
            cells.append(
                f"{row['failed_during']:,} / {row['failed_after']:,} | {row['stale_reads']:,} "
                f"| {row['lost_writes']:,} | {row['recovered_after_s']:.2f}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    proof = " | ".join(
        f"{r['faults']['durability']['totals']['lost']:,} lost of "
        f"{r['faults']['durability']['totals']['acknowledged']:,} | | |"
        for r in reports
    )
    lines.append(f"| durability proof, whole run | {proof}")
    return "\n".join(lines) + "\n"


def faults_document(reports: list[dict[str, Any]], command: str) -> str:
    """``faults.md``: the comparison, then each layout's fault table and durability proof."""
    parts = [
        "# Faults under load: what the stack survives, per layout",
        "",
        f"Made by `{command}`; the full reports: "
        + ", ".join(f"[{r['run']['label']}.md]({r['run']['label']}.md)" for r in reports)
        + ". Times are seconds from the first operation of each run.",
        "",
        faults_table(reports),
    ]
    for report in reports:
        run = report["run"]
        settings = run["settings"]
        parts += [
            f"{run['layout']['summary']}: {settings['replicas']} replicas, "
            f"{settings['users']} Locust users for {settings['duration_s']:g} s, "
            f"{report['totals']['ops']:,} operations, verdict {report['verdict']}.",
            "",
            render_fault_section(report["faults"]),
        ]
    return "\n".join(parts)
