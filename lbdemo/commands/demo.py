"""``lbdemo demo``: the main job. Private vs shared storage under the same load, compared."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lbdemo.balancer.config import STRATEGIES
from lbdemo.commands.up import (
    add_dashboard_arguments,
    add_project_argument,
    add_runtime_argument,
    add_store_arguments,
    check_engine_installed,
    dashboard_from,
    dashboard_line,
    volume_for,
)
from lbdemo.config import add_state_argument, color_wanted, state_root, terminal_columns
from lbdemo.demo.faults import DEFAULT_DURATION_S as FAULTS_DURATION_S
from lbdemo.demo.pets import PetsOutcome, run_pets_lesson
from lbdemo.demo.pets_live import run_pets_on_stack
from lbdemo.demo.pipeline import (
    LIVE_VIEW,
    LoadSettings,
    add_think_time_argument,
    add_workers_argument,
)
from lbdemo.demo.runner import SCENARIOS, DemoOutcome, DemoPlan, run_demo
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import LAYOUT_CHOICES, Layout
from lbdemo.deploy.target import Target
from lbdemo.errors import UsageError
from lbdemo.files import printable, write_text
from lbdemo.load.run import find_locustfile
from lbdemo.report import headline, settings_warning
from lbdemo.stacks import open_stack

if TYPE_CHECKING:
    from lbdemo.dashboard import Dashboard


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the private and the shared scenario and compare them",
        description="Start a stack with private storage, load it with Locust, audit and check "
        "it; then the same with shared storage; print the side-by-side comparison "
        "and write the reports. Exits 1 if shared storage was not consistent or private "
        "storage showed no inconsistency.",
    )
    add_state_argument(demo)
    demo.add_argument(
        "--duration",
        type=float,
        default=None,
        help=f"seconds of load per scenario (default 20; {FAULTS_DURATION_S:g} "
        "for --scenario faults)",
    )
    demo.add_argument("--replicas", "-n", type=int, default=3, help="replicas (default 3)")
    demo.add_argument("--users", "-u", type=int, default=20, help="Locust users (default 20)")
    demo.add_argument("--keys", type=int, default=8, help="product keys written (default 8)")
    demo.add_argument(
        "--write-ratio", type=float, default=0.3, help="share of writes (default 0.3)"
    )
    add_workers_argument(demo)
    add_think_time_argument(demo)
    demo.add_argument("--dsn", help="run the shared scenario on this existing PostgreSQL server")
    demo.add_argument(
        "--layouts",
        default="private,shared",
        metavar="L1,L2,...",
        help=f"the layouts to run, in order, with the same load (default private,shared): "
        f"{', '.join(LAYOUT_CHOICES)}",
    )
    demo.add_argument(
        "--apply-delay",
        type=int,
        default=0,
        metavar="MS",
        help="replicated-async: the standbys apply each commit this many ms late "
        "(recovery_min_apply_delay; default 0); with --store redis the replication link, "
        "with --store etcd (shared) the peer links, hold every byte that long",
    )
    add_store_arguments(demo)
    demo.add_argument(
        "--region-rtt",
        type=int,
        default=None,
        metavar="MS",
        help="spread the stack over two simulated regions this many ms apart (round trip): "
        "balancer, replicas and standbys in one, the shared store or primary in the other "
        "(docs/scale-out.md; default: one region)",
    )
    demo.add_argument(
        "--scenario",
        choices=(*SCENARIOS, "pets"),
        default="consistency",
        help="consistency (default): reads under load; upgrade: a rolling upgrade to "
        "lbdemo/catalog:1.1 under load, and which earlier writes survive it; faults: "
        "kill, pause, store kill, latency and resets under load (results/faults.md); "
        "pets: a patch made in a container dies with it, a bind-mounted config survives",
    )
    demo.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="round-robin",
        help="balancing strategy (default round-robin; try sticky: each client "
        "then reads its own writes, but clients still disagree)",
    )
    demo.add_argument(
        "--out", type=Path, default=Path("results"), help="where reports go (default results/)"
    )
    add_runtime_argument(demo)
    add_project_argument(demo)
    demo.add_argument(
        "--target",
        metavar="URL",
        help="load a deployment that is already running (docker compose, your own hosts, "
        "Kubernetes) through its balancer at URL instead of starting a stack; needs "
        "--replica-urls and one --layouts word saying what it runs",
    )
    demo.add_argument(
        "--replica-urls",
        metavar="URL,URL,...",
        help="with --target: every replica's own URL, for the final audit",
    )
    add_dashboard_arguments(demo)
    demo.set_defaults(func=run)


def plan_from(args: argparse.Namespace) -> DemoPlan:
    """Every option checked here, before the first stack starts."""
    if args.scenario == "upgrade" and args.dsn is not None:
        raise UsageError("the upgrade scenario runs on embedded PostgreSQL; drop --dsn")
    if args.scenario == "faults" and args.dsn is not None:
        raise UsageError("the faults scenario kills its own PostgreSQL; drop --dsn")
    if args.scenario == "faults" and args.replicas < 3:
        raise UsageError(
            "the faults scenario needs at least 3 replicas (one killed, one "
            "paused, one behind the fault proxy)"
        )
    target = Target.from_options(args.target, args.replica_urls)
    if target is not None or args.runtime != "local":
        where = "--target" if target is not None else f"--runtime {args.runtime}"
        # upgrade and faults act on the containers of a stack lbdemo runs, on either runtime
        on_engine = ("consistency", "upgrade", "faults") if target is None else ("consistency",)
        if args.scenario not in on_engine:
            raise UsageError(
                f"--scenario {args.scenario} acts on lbdemo's own containers; "
                f"it does not run with {where}"
            )
        if args.dashboard and target is not None:
            raise UsageError("--dashboard shows a stack lbdemo runs; it does not run with --target")
        if args.dsn is not None:
            raise UsageError(f"--dsn does not go with {where}")
    if target is not None and getattr(args, "region_rtt", None) is not None:
        raise UsageError("--region-rtt places lbdemo's own stack; it does not go with --target")
    if target is not None and args.runtime != "local":
        raise UsageError("--target loads a running deployment; --runtime starts one: choose one")
    if args.store not in (None, "postgres") and args.scenario != "consistency":
        raise UsageError(f"--store {args.store} runs --scenario consistency only")
    if args.store not in (None, "postgres") and (target is not None or args.runtime != "local"):
        raise UsageError(f"--store {args.store} runs on lbdemo's own runtime only")
    duration = args.duration
    if duration is None:
        duration = FAULTS_DURATION_S if args.scenario == "faults" else 20.0
    layouts = layouts_from(args)
    if target is not None and len(layouts) != 1:
        raise UsageError(
            "--target loads one deployment: say what it runs with --layouts "
            "private or --layouts shared"
        )
    if (target is not None or args.runtime != "local") and any(
        layout.storage not in ("private", "shared") for layout in layouts
    ):
        raise UsageError("--layouts beyond private and shared run on the local runtime only")
    root = state_root(args)
    return DemoPlan(
        scenario=args.scenario,
        layouts=layouts,
        stack=StackConfig(
            state_root=root,
            replicas=args.replicas,
            strategy=args.strategy,
            balancer_listen="127.0.0.1:0",
            runtime=args.runtime,
            project=args.project,
        ),
        load=LoadSettings(
            users=args.users,
            duration_s=duration,
            keys=args.keys,
            write_ratio=args.write_ratio,
            workers=args.workers,
            think_ms=args.think_ms,
        ),
        out_dir=args.out.resolve(),
        argv=tuple(getattr(args, "argv", None) or ("demo",)),
        target=target,
    )


def layouts_from(args: argparse.Namespace) -> list[Layout]:
    """``--layouts`` (with ``--dsn`` for shared and ``--apply-delay`` for replicated-async)."""
    names = [name.strip() for name in str(args.layouts).split(",")]
    if not names or "" in names:
        raise UsageError("--layouts takes layout names separated by commas, e.g. private,shared")
    if len(set(names)) < len(names):
        raise UsageError("--layouts names a layout twice; each runs once")
    beyond = [n for n in names if n not in ("private", "shared")]
    if beyond and args.scenario != "consistency":
        raise UsageError(f"--layouts {','.join(beyond)}: only with --scenario consistency")
    if args.dsn is not None and "shared" not in names:
        raise UsageError("--dsn names the shared layout's server; add shared to --layouts")
    store = getattr(args, "store", None) or "postgres"
    delayed = "shared" if store == "etcd" else "replicated-async"  # etcd: its peer links
    if args.apply_delay and delayed not in names:
        raise UsageError(f"--apply-delay applies to {delayed}; add it to --layouts")
    region_rtt = getattr(args, "region_rtt", None)
    if region_rtt is not None and args.scenario != "consistency":
        raise UsageError("--region-rtt: only with --scenario consistency")
    return [
        Layout.named(
            name,
            dsn=args.dsn if name == "shared" else None,
            volume=volume_for(args.runtime, args.project),
            apply_delay_ms=args.apply_delay if name == delayed else 0,
            store=store,
            read_mode=getattr(args, "read", None),
            region_rtt_ms=region_rtt,
        )
        for name in names
    ]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _demo_with_dashboard(plan: DemoPlan, dashboard: Dashboard | None) -> DemoOutcome:
    """The demo, shown live when asked: one dashboard (one link) for every run's stack."""
    if dashboard is None:
        return await run_demo(plan, say)
    await dashboard.start()
    try:
        # the terminal only: the link carries the token
        print(dashboard_line(dashboard).strip(), file=sys.stderr, flush=True)
        LIVE_VIEW.set(dashboard)
        return await run_demo(plan, say)
    finally:
        await dashboard.stop()


def run(args: argparse.Namespace) -> int:
    if args.scenario == "pets":
        return run_pets(args)
    plan = plan_from(args)
    # its options checked too before anything starts; the state root's address, as up's
    dashboard = dashboard_from(args, state_root(args))
    # What the run needs from the installed package, found before a stack starts.
    find_locustfile()
    if plan.target is None and args.runtime == "local":
        for layout in plan.layouts:
            check_engine_installed(layout)
    outcome = asyncio.run(_demo_with_dashboard(plan, dashboard))
    if plan.scenario == "upgrade":
        print(printable(outcome.table))
    elif outcome.reports:
        # What matters first, readable from the back of the room; the whole table is in the file.
        print(headline(outcome.reports, color=color_wanted(sys.stdout), width=terminal_columns()))
    warning = settings_warning(outcome.reports)
    if warning:
        print(f"lbdemo: warning: {printable(warning)}", file=sys.stderr)
    for refusal in outcome.refusals:
        reason = refusal["refusal"]["reason"] or "not refused"
        print(printable(f"{refusal['run']['label']}: {refusal['verdict']}: {reason}"))
    print(
        "\n"
        + reports_line(
            plan.out_dir,
            [r["run"]["label"] for r in outcome.reports],
            [r["run"]["label"] for r in outcome.refusals],
        )
    )
    html = outcome.comparison_path.with_suffix(".html")
    print(f"side by side: {html if html.exists() else outcome.comparison_path}")
    for problem in outcome.problems:
        print(f"lbdemo: demo did not show the contrast: {problem}", file=sys.stderr)
    return 1 if outcome.problems else 0


def reports_line(out_dir: Path, reports: list[str], refusals: list[str]) -> str:
    """Where the files are: a checked run writes LABEL.html, .md and .json; a refused one
    (shared-datadir) only LABEL.md and .json, so each kind names its own siblings."""
    parts = []
    if reports:
        parts.append(", ".join(f"{label}.html" for label in reports) + " (and .md, .json)")
    if refusals:
        parts.append(", ".join(f"{label}.md" for label in refusals) + " (and .json)")
    return f"reports in {out_dir}/: {'; '.join(parts)}"


async def _pets_on_docker(args: argparse.Namespace, root: Path) -> PetsOutcome:
    """The lesson on a two-replica shared stack on the engine, through its LiveStack; the
    stack always stopped again (its containers and network removed, the volume kept)."""
    config = StackConfig(
        state_root=root,
        layout=Layout.named("shared", volume=volume_for(args.runtime, args.project)),
        replicas=2,
        balancer_listen="127.0.0.1:0",
        restart="replace",
        runtime="docker",
        project=args.project,
    )
    stack = open_stack(config)
    say("Start two replicas on one shared database (docker, restart policy replace).")
    await stack.start()
    try:
        return await run_pets_on_stack(stack, root / "lesson-pets", say)
    finally:
        await stack.stop()


def run_pets(args: argparse.Namespace) -> int:
    """The pets lesson (lbdemo.demo.pets): its transcript on stdout and in OUT/pets.md."""
    out_dir = args.out.resolve()
    root = state_root(args).resolve()
    if args.runtime == "docker":
        outcome = asyncio.run(_pets_on_docker(args, root))
    else:
        outcome = run_pets_lesson(root, root / "lesson-pets", say)
    print(outcome.markdown(), end="")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(
        out_dir / "pets.md",
        "# The pets lesson (`lbdemo demo --scenario pets`)\n\n" + outcome.markdown(),
    )
    for problem in outcome.problems:
        print(f"lbdemo: the pets lesson did not show: {problem}", file=sys.stderr)
    return 1 if outcome.problems else 0
