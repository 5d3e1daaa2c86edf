"""``lbdemo load``: the consistency workload on the stack ``lbdemo up`` runs, shown live.

The stack is found as ``lbdemo get`` finds it (``STATE/run/stack.json``) and loaded through the
pipeline as ``lbdemo demo --target`` loads a running deployment: the same progress lines, the
same checker, the same reports and headline. When the stack serves a dashboard
(``STATE/run/dashboard.json``), the workload's progress lines and the final verdict go to it
through ``POST /api/load`` (:class:`lbdemo.dashboard.feed.DashboardFeed`).

``--web`` starts Locust's own web UI instead (bound to 127.0.0.1), with the same workload; its
progress lines reach the dashboard the same way, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
import socket
import sys
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import ClientError, ClientSession, ClientTimeout

from lbdemo.commands.up import add_store_arguments
from lbdemo.config import add_state_argument, color_wanted, state_root, terminal_columns
from lbdemo.dashboard.address import running
from lbdemo.dashboard.feed import DashboardFeed
from lbdemo.demo.pipeline import (
    LIVE_VIEW,
    LoadSettings,
    RunContext,
    RunSpec,
    Scenario,
    add_think_time_argument,
    run_under_load,
)
from lbdemo.demo.runner import store_label
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from lbdemo.deploy.target import Target, TargetDeployment, TargetReplica
from lbdemo.errors import ProcessError, StateError, UsageError
from lbdemo.load.run import LoadPlan, LocustRun, find_locustfile, run_process
from lbdemo.process.ports import free_port
from lbdemo.report import headline

T = TypeVar("T")
REPLACEMENT_WAIT_S = 60.0  # a fresh private replica copies and starts its PostgreSQL
WEB_DEADLINE_S = 24 * 3600.0  # the web UI runs until Ctrl-C; this only bounds a forgotten one


def register(subparsers: Any) -> None:
    load = subparsers.add_parser(
        "load",
        help="load the running stack (`lbdemo up`) with the consistency workload",
        description="Run the consistency workload through the balancer of the stack `lbdemo "
        "up` runs on this state root, print its progress and verdict as `lbdemo demo` does, "
        "write the reports, and show it live on the stack's dashboard.",
    )
    add_state_argument(load)
    load.add_argument("--duration", type=float, default=20.0, help="seconds of load (default 20)")
    load.add_argument("--users", "-u", type=int, default=20, help="Locust users (default 20)")
    load.add_argument("--keys", type=int, default=8, help="product keys written (default 8)")
    load.add_argument(
        "--write-ratio", type=float, default=0.3, help="share of writes (default 0.3)"
    )
    add_think_time_argument(load)
    load.add_argument(
        "--out",
        type=Path,
        default=Path("results/load"),
        help="where reports go (default results/load/; named after the layout, e.g. "
        "private.html, so a later load of the same storage replaces them)",
    )
    add_store_arguments(load)
    load.add_argument(
        "--web",
        action="store_true",
        help="start Locust's web UI on 127.0.0.1 instead (same workload; start and stop the "
        "load in the browser, Ctrl-C here ends it); its stale reads reach the dashboard too",
    )
    load.add_argument(
        "--web-port",
        type=int,
        default=8089,
        metavar="PORT",
        help="with --web: the web UI's port on 127.0.0.1 (default 8089; 0: a free one)",
    )
    load.set_defaults(func=run)


def settings_from(args: argparse.Namespace) -> LoadSettings:
    if not 0 <= args.web_port <= 65535:
        raise UsageError(f"--web-port must be between 0 and 65535, got {args.web_port}")
    return LoadSettings(
        users=args.users,
        duration_s=args.duration,
        keys=args.keys,
        write_ratio=args.write_ratio,
        think_ms=args.think_ms,
    )


class RunningStack(TargetDeployment):
    """The stack ``lbdemo up`` runs, loaded as a target; its replicas are re-read from
    ``stack.json`` (rewritten at every change) whenever they are asked for, so a replica killed
    and replaced, or upgraded away, during the load is audited as it is at the end."""

    def __init__(self, target: Target, stack_file: Path) -> None:
        super().__init__(target)
        self.stack_file = stack_file

    @property
    def replicas(self) -> Sequence[TargetReplica]:
        try:
            data = json.loads(self.stack_file.read_text())
            now = [TargetReplica(str(r["name"]), str(r["url"])) for r in data["replicas"]]
        except (OSError, ValueError, KeyError, TypeError):
            now = []
        return now or super().replicas  # the stack gone meanwhile: the last ones known


class LoadScenario(Scenario):
    """The consistency scenario on a stack that lives on: once the load ends, the audit waits
    (a bounded time) for every replica the stack runs then to answer, since one killed during
    the load may still be starting its replacement."""

    async def during(self, ctx: RunContext, load: asyncio.Task[LocustRun]) -> None:
        await asyncio.wait({load})
        if load.cancelled() or load.exception() is not None:
            return  # the pipeline reports it
        deadline = time.monotonic() + REPLACEMENT_WAIT_S
        said = False
        async with ClientSession(timeout=ClientTimeout(total=2.0)) as http:
            while True:
                waiting = [r.name for r in ctx.stack.replicas if not await _healthy(http, r.url)]
                if not waiting or time.monotonic() > deadline:
                    return  # past the deadline the audit says which one did not answer
                if not said:
                    ctx.progress(f"waiting for {', '.join(waiting)} to answer before the audit ...")
                    said = True
                await asyncio.sleep(0.2)


async def _healthy(http: ClientSession, url: str) -> bool:
    try:
        async with http.get(f"{url}/healthz") as response:
            return response.status == 200
    except (ClientError, TimeoutError):
        return False


def running_stack(root: Path) -> dict[str, Any]:
    """The description ``lbdemo up`` wrote of the stack it runs, or one StateError line."""
    path = root / "run" / "stack.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        raise StateError(f"no stack is running on {root}; start one with `lbdemo up`") from None
    if not isinstance(data, dict) or "replicas" not in data or "balancer" not in data:
        raise StateError(f"{path} is not a stack description")
    return data


def run(args: argparse.Namespace) -> int:
    load = settings_from(args)  # every option checked before anything starts
    root = state_root(args)
    description = running_stack(root)
    storage = str(description.get("layout", {}).get("storage", "shared"))
    layout = _layout(storage, description.get("layout") or {})
    _check_store(args, layout)
    target = Target(
        str(description["balancer"]["url"]),
        tuple(str(r["url"]) for r in description["replicas"]),
    )
    shown = running(root)
    if args.web:
        return asyncio.run(_stopped_by_signals(_web(args, target, load, shown, storage)))
    # the layout's own name (private, shared-volume): the headline then needs no "(layout)"
    # after it, and fits 80 columns
    label = layout.name if layout.postgres else store_label(layout)
    spec = RunSpec(
        label=label,
        scenario="consistency",
        stack=StackConfig(state_root=root, layout=layout, balancer_listen="127.0.0.1:0"),
        load=load,
        out_dir=args.out.resolve(),
        argv=tuple(getattr(args, "argv", None) or ("load",)),
        target=target,
        deployment=RunningStack(target, root / "run" / "stack.json"),
        layout_described=description.get("layout") or None,
    )
    try:
        report = asyncio.run(_stopped_by_signals(_load(spec, shown)))
    except asyncio.CancelledError:
        print("lbdemo: interrupted; the load is stopped, the stack runs on", file=sys.stderr)
        return 130
    print(headline([report], color=color_wanted(sys.stdout), width=terminal_columns()))
    html = spec.out_dir / f"{label}.html"
    print(f"\nreport: {html} (and .md, .json)")
    return 0


async def _stopped_by_signals(work: Coroutine[Any, Any, T]) -> T:
    """``work``, cancelled by Ctrl-C or SIGTERM: cancelling is what stops Locust (a process
    killed by SIGTERM without it would leave Locust running on)."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    return await work


def _check_free(port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise UsageError(f"--web-port {port}: the port is taken on 127.0.0.1") from None


def _layout(storage: str, described: dict[str, Any]) -> Layout:
    """The running stack's layout, from what ``stack.json`` says of it (store and read mode)."""
    store = str(described.get("store") or "postgres")
    mode = described.get("read_mode") if store == "etcd" else None
    try:
        return Layout.named(
            storage,
            store=store,
            read_mode=str(mode) if mode else None,
            apply_delay_ms=int(described.get("apply_delay_ms") or 0),
        )
    except (UsageError, ValueError):
        return Layout.named("shared")


def _check_store(args: argparse.Namespace, layout: Layout) -> None:
    """``--store``/``--read`` name what the load expects the running stack to be: a mismatch
    is refused before any load (the stack's store is chosen by ``up``, not here)."""
    if args.store is not None and args.store != layout.store:
        raise UsageError(
            f"--store {args.store}: the running stack's store is {layout.store} "
            "(chosen by `lbdemo up --store`)"
        )
    if args.read is not None and args.read != layout.read_mode:
        running = layout.read_mode or f"{layout.reads_served_by} ({layout.store})"
        raise UsageError(f"--read {args.read}: the running stack reads {running}")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _load(spec: RunSpec, shown: dict[str, Any] | None) -> dict[str, Any]:
    feed = None
    if shown is not None:
        feed = DashboardFeed(shown["url"], shown["token"], secrets.token_hex(6), say)
        await feed.start(spec.label, "load")
        LIVE_VIEW.set(feed)
    try:
        outcome = await run_under_load(spec, LoadScenario(), say)
    except BaseException:
        if feed is not None:
            await feed.end(None)
        raise
    report = outcome.report
    if feed is not None:
        await feed.end(report, html=spec.out_dir / f"{spec.label}.html")
    return report


async def _web(
    args: argparse.Namespace,
    target: Target,
    load: LoadSettings,
    shown: dict[str, Any] | None,
    storage: str,
) -> int:
    """Locust's web UI on 127.0.0.1 with the workload; its progress lines fed to the page."""
    port = args.web_port or free_port()
    _check_free(port)  # Locust would only say so in a traceback, after its start
    out = args.out.resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out}: {exc.strerror or exc}") from None
    plan = LoadPlan(
        load.users, load.users, load.duration_s, load.keys, load.write_ratio,
        f"web-{secrets.token_hex(4)}-p", 0, load.think_ms,
    )  # fmt: skip
    plan.check()
    options = plan.locust_args()
    del options[options.index("-t") : options.index("-t") + 2]  # the browser starts and stops
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(find_locustfile()),
        "--host",
        target.url,
        "--web-host",
        "127.0.0.1",
        "--web-port",
        str(port),
        *options,
        "--history-file",
        str(out / f"web-{storage}-history.jsonl"),
        "--progress-interval",
        "1",
    ]
    feed = None
    if shown is not None:
        feed = DashboardFeed(shown["url"], shown["token"], secrets.token_hex(6), say)
        await feed.start(f"web-{storage}", "web")
    say(f"Locust's web UI: http://127.0.0.1:{port}/ (the balancer {target.url}); Ctrl-C ends it")

    def on_line(line: str) -> None:
        if feed is not None:
            feed.locust_line(line)
        if line.startswith("progress:"):
            say(line)

    try:
        result = await run_process(argv, deadline_s=WEB_DEADLINE_S, on_line=on_line)
    except asyncio.CancelledError:
        return 0  # Ctrl-C: how the web UI is meant to end
    finally:
        if feed is not None:
            await feed.end(None)
    # Locust ended by itself: a taken port, say; its last line says why
    said = [line.strip() for line in result.tail if "Error" in line]
    reason = said[-1] if said else f"exit status {result.exit_code}"
    raise ProcessError(f"Locust's web UI stopped: {reason}")
