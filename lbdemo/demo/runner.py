"""``lbdemo demo``: one scenario per layout (``--layouts``, default private then shared), same
load, compared. ``shared-datadir`` runs no load: its run is PostgreSQL's refusal, reported."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lbdemo.demo.datadir import REFUSED, render_refusal, run_refusal
from lbdemo.demo.faults import FaultsScenario, faults_document, faults_table
from lbdemo.demo.pipeline import (
    LIVE_VIEW,
    LoadSettings,
    RunOutcome,
    RunSpec,
    Scenario,
    run_under_load,
)
from lbdemo.demo.upgrade import UpgradeScenario
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from lbdemo.deploy.target import Target
from lbdemo.files import write_text
from lbdemo.report import compare_reports
from lbdemo.report.html import render_compare_html
from lbdemo.report.markdown import table as md_table

Progress = Callable[[str], None]
SCENARIOS = ("consistency", "upgrade", "faults")


def store_label(layout: Layout) -> str:
    """A run's name: the storage word, after the engine when it is not PostgreSQL and before
    etcd's serializable reads (``redis-shared``, ``etcd-shared-serializable``), so runs of
    several stores can share one --out."""
    if layout.postgres:
        return layout.storage
    mode = "-serializable" if layout.read_mode == "serializable" else ""
    return f"{layout.store}-{layout.storage}{mode}"


@dataclass(frozen=True)
class DemoPlan:
    """What ``lbdemo demo`` runs, every option checked before the first stack starts."""

    scenario: str
    layouts: Sequence[Layout]
    stack: StackConfig  # the settings every layout's stack shares; its layout is replaced
    load: LoadSettings
    out_dir: Path
    argv: Sequence[str] = ()
    target: Target | None = None  # a running deployment, loaded instead of a stack

    def label(self, layout: Layout) -> str:
        if self.scenario == "consistency":
            return store_label(layout)
        return f"{self.scenario}-{layout.storage}"

    def specs(self) -> list[RunSpec]:
        return [
            RunSpec(
                self.label(layout),
                self.scenario,
                replace(self.stack, layout=layout),
                self.load,
                self.out_dir,
                tuple(self.argv),
                self.target,
            )
            for layout in self.layouts
        ]


@dataclass
class DemoOutcome:
    runs: list[RunOutcome]
    table: str
    comparison_path: Path
    problems: list[str]  # why the demo did not show what it should (exit status 1)
    refusals: list[dict[str, Any]] = field(default_factory=list)  # shared-datadir's reports

    @property
    def reports(self) -> list[dict[str, Any]]:
        return [run.report for run in self.runs]


def _scenario(name: str) -> Scenario:
    if name == "faults":
        return FaultsScenario()
    return UpgradeScenario() if name == "upgrade" else Scenario()


async def run_demo(plan: DemoPlan, say: Progress) -> DemoOutcome:
    """Each layout in turn through the pipeline; then the comparison, and what went wrong."""
    began = time.monotonic()
    runs = []
    refusals = []
    specs = plan.specs()
    for number, spec in enumerate(specs, start=1):
        tag = f"[{number}/{len(specs)} {spec.label}]"
        if spec.stack.layout.replicas_share_datadir:
            refusals.append(await run_refusal(spec, _tagged(say, tag)))
            continue
        runs.append(await run_under_load(spec, _scenario(plan.scenario), _tagged(say, tag)))
        live = LIVE_VIEW.get()
        if live is not None:  # the run's checked verdict and its report, on the dashboard
            live.checked(runs[-1].report, spec.out_dir / f"{spec.label}.html")
    reports = [run.report for run in runs]
    if plan.scenario == "upgrade":
        name, title = "upgrade-compare.md", "A rolling upgrade under load"
        table = upgrade_table(reports)
    elif plan.scenario == "faults":
        name, title = "faults-compare.md", "Faults under load"
        table = faults_table(reports)
    else:
        name = "compare.md"
        title = (
            "Private vs shared storage, same load"
            if _default_layouts(reports)
            else "Layouts side by side, same load"
        )
        table = compare_reports(reports) if len(reports) >= 2 else ""
        table += replication_table(reports) + refusals_text(refusals)
    links = ", ".join(
        f"[{r['run']['label']}.md]({r['run']['label']}.md)" for r in [*reports, *refusals]
    )
    command = shlex.join(["lbdemo", *plan.argv]) if plan.argv else "lbdemo demo"
    path = plan.out_dir / name
    write_text(path, f"# {title}\n\nMade by `{command}`; the reports: {links}.\n\n{table}")
    if len(reports) >= 2:
        write_text(path.with_suffix(".html"), render_compare_html(reports))
    if plan.scenario == "faults":
        write_text(plan.out_dir / "faults.md", faults_document(reports, command))
    say(f"demo finished in {time.monotonic() - began:.0f} s")
    problems = expectations(plan.scenario, reports) + refusal_problems(refusals)
    return DemoOutcome(runs, table, path, problems, refusals)


def _default_layouts(reports: list[dict[str, Any]]) -> bool:
    return all(r["run"]["layout"]["storage"] in ("private", "shared") for r in reports)


def replication_table(reports: list[dict[str, Any]]) -> str:
    """The replicated layouts' lag and write latency beside the others' write latency."""
    if not any("replication" in r for r in reports):
        return ""

    def ms(value: Any) -> str:
        return "–" if value is None else f"{value:,.1f}"

    rows = []
    for r in reports:
        rep = r.get("replication") or {}
        hist, replay = rep.get("lag_from_history_ms") or {}, rep.get("replay_lag_ms") or {}
        writes = r.get("latency_ms", {}).get("writes", {})
        rows.append(
            [
                r["run"]["label"],
                f"{r['anomalies']['stale_read']['count']:,}",
                ms(writes.get("p50")),
                ms(writes.get("p99")),
                ms(hist.get("p50")),
                ms(hist.get("p99")),
                ms(hist.get("max")),
                ms(replay.get("p50")),
                ms(replay.get("p99")),
                ms(replay.get("max")),
            ]
        )
    header = [
        "run",
        "stale reads",
        "write p50 (ms)",
        "write p99 (ms)",
        "stale-read lag p50 (ms)",
        "p99",
        "max",
        "replay_lag p50 (ms)",
        "p99",
        "max",
    ]
    return (
        "\n## Replication\n\nStale-read lag: per stale read, its invocation minus the "
        "acknowledgement of the first newer write it missed (from the history). replay_lag: "
        "pg_stat_replication on the primary, sampled during the load.\n\n"
        + md_table(header, rows, right=tuple(range(1, len(header))))
        + "\n"
    )


def refusals_text(refusals: list[dict[str, Any]]) -> str:
    out = ""
    for report in refusals:
        out += "\n" + render_refusal(report).replace("# ", "## ", 1)
    return out


def refusal_problems(refusals: list[dict[str, Any]]) -> list[str]:
    problems = []
    for report in refusals:
        label, refusal = report["run"]["label"], report["refusal"]
        if report["verdict"] != REFUSED:
            problems.append(f"{label}: the second server on one data directory was not refused")
        if refusal["left_running"]:
            problems.append(f"{label}: processes left running: {refusal['left_running']}")
    return problems


def expectations(scenario: str, reports: list[dict[str, Any]]) -> list[str]:
    """What the demo exists to show, checked: shared storage consistent (and keeping every
    write through an upgrade), private storage not. Each failure is one sentence."""
    problems = []
    for report in reports:
        label, storage = report["run"]["label"], report["run"]["layout"]["storage"]
        serializable = report["run"]["layout"].get("read_mode") == "serializable"
        if scenario == "faults":
            problems += [f"{label}: {p}" for p in report["faults"]["goal_problems"]]
        elif scenario == "upgrade":
            section = report["upgrade"]
            kept = min(section["pre_upgrade_writes_survived"].values(), default=0)
            if storage == "shared" and kept != section["pre_upgrade_writes_acknowledged"]:
                problems.append(f"{label}: the shared store lost pre-upgrade writes")
        elif storage == "replicated-sync" and report["anomalies"]["stale_read"]["count"]:
            problems.append(f"{label}: synchronous replication showed stale reads")
        elif (
            (storage == "replicated-async" or serializable)
            and report["run"]["layout"].get("apply_delay_ms")
            and not report["anomalies"]["stale_read"]["count"]
        ):
            problems.append(
                f"{label}: asynchronous replication with an apply delay showed no stale read"
            )
        elif serializable:
            pass  # etcd's serializable reads may be stale or not: measured, never expected
        elif storage == "shared" and report["verdict"] != "consistent":
            problems.append(f"{label}: shared storage was not consistent")
        elif storage == "private" and report["verdict"] == "consistent":
            problems.append(f"{label}: private storage showed no inconsistency")
    return problems


def upgrade_table(reports: list[dict[str, Any]]) -> str:
    """What a rolling upgrade did to each layout, side by side."""

    def survived(section: dict[str, Any]) -> str:
        kept = min(section["pre_upgrade_writes_survived"].values(), default=0)
        return f"{kept:,} of {section['pre_upgrade_writes_acknowledged']:,}"

    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("replicas replaced", lambda s: f"{len(s['replaced']):,}"),
        ("images after", lambda s: ", ".join(s["images_after"])),
        ("upgrade took (s)", lambda s: f"{s['upgrade_s']:.2f}"),
        ("requests during the upgrade", lambda s: f"{s['requests_during_upgrade']:,}"),
        (
            "failed requests during the upgrade",
            lambda s: f"{s['failed_requests_during_upgrade']:,}",
        ),
        ("pre-upgrade writes on every replica after", survived),
    ]
    header = "| | " + " | ".join(r["run"]["layout"]["storage"] for r in reports) + " |"
    lines = [header, "|---|" + "---:|" * len(reports)]
    lines += [
        f"| {label} | " + " | ".join(cell(r["upgrade"]) for r in reports) + " |"
        for label, cell in rows
    ]
    return "\n".join(lines) + "\n"


def _tagged(say: Progress, tag: str) -> Progress:
    return lambda line: say(f"{tag} {line}")
