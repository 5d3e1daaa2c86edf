"""``lbdemo demo``: the private scenario, then the shared one, then the comparison."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace

from lbdemo.demo.scenario import ScenarioConfig, ScenarioOutcome, run_scenario
from lbdemo.report import compare
from lbdemo.stack import Storage

SCENARIOS: tuple[Storage, ...] = ("private", "shared")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
    table = compare(private, shared, labels=("private", "shared"))
    (base.out_dir / "compare.md").write_text(table)
    say(f"demo finished in {time.monotonic() - began:.0f} s")
    return outcomes, table
