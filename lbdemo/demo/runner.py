"""``lbdemo demo``: each scenario once per storage layout (private, then shared), compared."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from lbdemo.demo.scenario import ScenarioConfig, ScenarioOutcome, run_scenario
from lbdemo.demo.upgrade import UpgradeScenarioConfig, run_upgrade_scenario
from lbdemo.report import compare_reports
from lbdemo.stack import Storage

SCENARIOS: tuple[Storage, ...] = ("private", "shared")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_comparison(out_dir: Path, private: dict[str, Any], shared: dict[str, Any]) -> str:
    """Write ``compare.md`` next to the two reports; returns the bare table."""
    table = compare_reports([private, shared])
    command = private.get("run", {}).get("command", "lbdemo demo")
    (out_dir / "compare.md").write_text(
        f"# private vs shared storage, same load\n\nMade by `{command}`; the reports: "
        f"[private.md](private.md), [shared.md](shared.md).\n\n{table}"
    )
    return table


def _tagged(tag: str) -> Callable[[str], None]:
    return lambda line: say(f"{tag} {line}")


async def run_demo(base: ScenarioConfig) -> tuple[list[ScenarioOutcome], str]:
    """Run ``base`` once per storage layout, same load, and compare the two reports.

    ``base.dsn`` is one shared server: it serves the shared scenario; the private one needs a
    server per replica, so it always runs on embedded PostgreSQL.
    """
    began = time.monotonic()
    outcomes = []
    for number, storage in enumerate(SCENARIOS, start=1):
        scenario = replace(base, name=storage, storage=storage,
                           dsn=base.dsn if storage == "shared" else None)
        tag = f"[{number}/{len(SCENARIOS)} {storage}]"
        outcomes.append(await run_scenario(scenario, _tagged(tag)))
    private, shared = (outcome.report for outcome in outcomes)
    table = write_comparison(base.out_dir, private, shared)
    say(f"demo finished in {time.monotonic() - began:.0f} s")
    return outcomes, table


async def run_upgrade_demo(base: UpgradeScenarioConfig) -> str:
    """The rolling-upgrade scenario once per storage layout; returns the side-by-side table."""
    began = time.monotonic()
    reports = []
    for number, storage in enumerate(SCENARIOS, start=1):
        tag = f"[{number}/{len(SCENARIOS)} upgrade, {storage}]"
        reports.append(await run_upgrade_scenario(replace(base, storage=storage), _tagged(tag)))
    table = upgrade_table(reports)
    (base.out_dir / "upgrade-compare.md").write_text(
        "# A rolling upgrade under load, private vs shared storage\n\n"
        f"Made by `lbdemo {' '.join(sys.argv[1:])}`; the reports: "
        "[upgrade-private.md](upgrade-private.md), [upgrade-shared.md](upgrade-shared.md).\n\n"
        f"{table}"
    )
    say(f"demo finished in {time.monotonic() - began:.0f} s")
    return table


def upgrade_table(reports: list[dict[str, Any]]) -> str:
    """What a rolling upgrade did to each layout, side by side."""
    def survived(report: dict[str, Any]) -> str:
        counts = report["pre_upgrade_writes_survived"].values()
        return f"{min(counts, default=0)} of {report['pre_upgrade_writes_acknowledged']}"

    rows = [
        ("replicas replaced", lambda r: str(len(r["replaced"]))),
        ("images after", lambda r: ", ".join(r["images_after"])),
        ("upgrade took (s)", lambda r: f"{r['upgrade_s']:.2f}"),
        ("requests during the upgrade", lambda r: f"{r['requests_during_upgrade']:,}"),
        ("failed requests during the upgrade", lambda r: str(r["failed_requests_during_upgrade"])),
        ("pre-upgrade writes on every replica after", survived),
    ]
    header = "| | " + " | ".join(r["storage"] for r in reports) + " |"
    lines = [header, "|---|" + "---:|" * len(reports)]
    lines += [f"| {label} | " + " | ".join(cell(r) for r in reports) + " |" for label, cell in rows]
    return "\n".join(lines) + "\n"
