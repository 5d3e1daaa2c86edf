"""``lbdemo demo``: the private scenario, then the shared one, then the comparison."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from lbdemo.demo.scenario import ScenarioConfig, ScenarioOutcome, run_scenario
from lbdemo.report import compare

SCENARIOS = (("private", "private"), ("shared", "shared"))


@dataclass(frozen=True)
class DemoConfig:
    state_root: Path
    out_dir: Path
    replicas: int = 3
    users: int = 20
    duration_s: float = 20.0
    keys: int = 8
    dsn: str | None = None
    strategy: str = "round-robin"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _tagged(tag: str) -> Callable[[str], None]:
    return lambda line: say(f"{tag} {line}")


async def run_demo(config: DemoConfig) -> tuple[list[ScenarioOutcome], str]:
    began = time.monotonic()
    base = ScenarioConfig(
        name="", storage="shared", state_root=config.state_root, out_dir=config.out_dir,
        replicas=config.replicas, users=config.users, duration_s=config.duration_s,
        keys=config.keys, strategy=config.strategy,
    )
    outcomes = []
    for number, (name, storage) in enumerate(SCENARIOS, start=1):
        tag = f"[{number}/{len(SCENARIOS)} {name}]"
        # --dsn is one shared server: it serves the shared scenario; the private one needs a
        # server per replica, so it always runs on embedded PostgreSQL.
        scenario = replace(base, name=name, storage=storage,  # type: ignore[arg-type]
                           dsn=config.dsn if storage == "shared" else None)
        outcomes.append(await run_scenario(scenario, _tagged(tag)))
    private, shared = (outcome.report for outcome in outcomes)
    table = compare(private, shared, labels=("private", "shared"))
    (config.out_dir / "compare.md").write_text(table)
    say(f"demo finished in {time.monotonic() - began:.0f} s")
    return outcomes, table
