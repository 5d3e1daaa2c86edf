"""``lbdemo demo``: the main job. Private vs shared storage under the same load, compared."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from lbdemo.balancer.config import STRATEGIES
from lbdemo.config import add_state_argument, state_root
from lbdemo.demo.runner import run_demo, run_upgrade_demo
from lbdemo.demo.scenario import ScenarioConfig
from lbdemo.demo.upgrade import UpgradeScenarioConfig
from lbdemo.errors import UsageError


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the private and the shared scenario and compare them",
        description="Start a stack with private storage, load it with Locust, audit and check "
        "it; then the same with shared storage; print the side-by-side comparison "
        "and write the reports.",
    )
    add_state_argument(demo)
    demo.add_argument(
        "--duration", type=float, default=20.0, help="seconds of load per scenario (default 20)"
    )
    demo.add_argument("--replicas", "-n", type=int, default=3, help="replicas (default 3)")
    demo.add_argument("--users", "-u", type=int, default=20, help="Locust users (default 20)")
    demo.add_argument("--keys", type=int, default=8, help="product keys written (default 8)")
    demo.add_argument("--dsn", help="run the shared scenario on this existing PostgreSQL server")
    demo.add_argument(
        "--scenario", choices=("consistency", "upgrade"), default="consistency",
        help="consistency (default): reads under load; upgrade: a rolling upgrade to "
             "lbdemo/catalog:1.1 under load, and which earlier writes survive it",
    )
    demo.add_argument("--strategy", choices=STRATEGIES, default="round-robin",
                      help="balancing strategy (default round-robin; try sticky: each client "
                           "then reads its own writes, but clients still disagree)")
    demo.add_argument(
        "--out", type=Path, default=Path("results"), help="where reports go (default results/)"
    )
    demo.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.duration <= 3600:
        raise UsageError(f"--duration must be between 1 and 3600 seconds, got {args.duration:g}")
    if not 1 <= args.users <= 1000:
        raise UsageError(f"--users must be between 1 and 1000, got {args.users}")
    if not 1 <= args.keys <= 10000:
        raise UsageError(f"--keys must be between 1 and 10000, got {args.keys}")
    if args.dsn is not None and not args.dsn.startswith(("postgres://", "postgresql://")):
        raise UsageError("--dsn must be a postgresql:// URL")
    if not 1 <= args.replicas <= 32:
        raise UsageError(f"--replicas must be between 1 and 32, got {args.replicas}")
    if args.scenario == "upgrade":
        return _upgrade(args)
    config = ScenarioConfig(
        name="demo", storage="shared", state_root=state_root(args), out_dir=args.out.resolve(),
        replicas=args.replicas, users=args.users, duration_s=args.duration, keys=args.keys,
        dsn=args.dsn, strategy=args.strategy,
    )
    _, table = asyncio.run(run_demo(config))
    print(table)
    print(f"reports in {config.out_dir}/: private.md, shared.md, compare.md (and .json)")
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    if args.dsn is not None:
        raise UsageError("the upgrade scenario runs on embedded PostgreSQL; drop --dsn")
    config = UpgradeScenarioConfig(
        storage="shared", state_root=state_root(args), out_dir=args.out.resolve(),
        replicas=args.replicas, users=args.users, duration_s=args.duration,
    )
    table = asyncio.run(run_upgrade_demo(config))
    print(table)
    print(f"reports in {config.out_dir}/: upgrade-private.md, upgrade-shared.md, "
          "upgrade-compare.md (and .json)")
    return 0
