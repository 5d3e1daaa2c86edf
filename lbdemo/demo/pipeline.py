"""One stack under load: the pipeline every scenario runs.

    start the stack ─▶ (scenario: before) ─▶ Locust ∥ (scenario: during) ─▶ final audit
        ─▶ stop the stack ─▶ check the history ─▶ one report, written by one writer

A scenario is what it adds to that: the consistency scenario adds nothing; the upgrade scenario
writes products before the load and rolls the replicas to a new image during it. What a
scenario adds goes under its own key in the same report, so every report has the same keys.

The files of run ``<label>`` under ``out_dir``: ``<label>-history.jsonl`` (every operation),
``<label>-audit.json``, ``<label>.json`` / ``.md`` (the report), and Locust's own
``<label>-locust_*.csv`` and ``<label>-locust.html``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from lbdemo.checker import Audit, CheckResult, check
from lbdemo.checker.audit import restrict
from lbdemo.demo.final_read import take_audit
from lbdemo.demo.replication import (
    CATCH_UP_SLACK_S,
    LagSampler,
    render_replication,
    replication_section,
    wait_caught_up,
)
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.deployment import Deployment
from lbdemo.deploy.layout import Layout
from lbdemo.deploy.live import LiveStack
from lbdemo.deploy.target import Target
from lbdemo.errors import UsageError
from lbdemo.files import write_json, write_text
from lbdemo.history import History, read_history
from lbdemo.load.distributed import MAX_WORKERS, check_workers
from lbdemo.load.lines import elapsed_s, progress_fields
from lbdemo.load.run import MAX_THINK_MS, LocustRun, live_history_files, run_locust
from lbdemo.report import build_report, render_markdown
from lbdemo.report.html import render_report_html
from lbdemo.report.provenance import run_provenance
from lbdemo.runtime.stack import Stack
from lbdemo.stacks import open_deployment
from lbdemo.store.engines import engine_version
from lbdemo.store.version import embedded_postgres_version

Progress = Callable[[str], None]


class LiveView(Protocol):
    """Something that shows each stack while it runs (``lbdemo demo --dashboard``)."""

    async def watch(self, stack: LiveStack) -> None: ...
    async def forget(self) -> None: ...
    def locust_line(self, line: str) -> None: ...
    def checked(self, report: dict[str, Any], html: Path) -> None: ...


# Set by ``lbdemo demo --dashboard`` around the whole demo: every run's stack is shown in turn
# (a context variable, so the scenarios and the runner between need not carry it).
LIVE_VIEW: ContextVar[LiveView | None] = ContextVar("lbdemo_live_view", default=None)
HISTORY_WAIT_S = 30.0  # Locust needs a moment (gevent, spawning users) before its first request


def add_workers_argument(parser: Any) -> None:
    """``--workers N``, for every command whose load runs through this pipeline."""
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help=f"Locust's distributed mode: a master and N worker processes on 127.0.0.1, their "
        f"histories merged (0, the default: one Locust process; at most {MAX_WORKERS}; "
        "docs/load.md)",
    )


def add_think_time_argument(parser: Any) -> None:
    """``--think-time MS``, for every command whose load runs through this pipeline."""
    parser.add_argument(
        "--think-time",
        type=float,
        default=0.0,
        metavar="MS",
        dest="think_ms",
        help="each Locust user pauses MS milliseconds between two operations (default 0: no "
        f"pause, as much load as the users can make; at most {MAX_THINK_MS:g}; "
        "docs/load.md)",
    )


@dataclass(frozen=True)
class LoadSettings:
    """The load every scenario applies through the balancer, checked on construction."""

    users: int = 20
    duration_s: float = 20.0
    keys: int = 8
    write_ratio: float = 0.3
    workers: int = 0  # Locust processes besides the master; 0: one process (docs/load.md)
    think_ms: float = 0.0  # each user's pause between two operations (docs/load.md)

    def __post_init__(self) -> None:
        if not 1 <= self.users <= 1000:
            raise UsageError(f"--users must be between 1 and 1000, got {self.users}")
        if not 1 <= self.duration_s <= 3600:
            raise UsageError(
                f"--duration must be between 1 and 3600 seconds, got {self.duration_s:g}"
            )
        if not 1 <= self.keys <= 10000:
            raise UsageError(f"--keys must be between 1 and 10000, got {self.keys}")
        if not 0.0 <= self.write_ratio <= 1.0:
            raise UsageError(f"--write-ratio must be between 0 and 1, got {self.write_ratio:g}")
        if not 0.0 <= self.think_ms <= MAX_THINK_MS:
            raise UsageError(
                f"--think-time must be between 0 and {MAX_THINK_MS:g} ms, got {self.think_ms:g}"
            )
        check_workers(self.workers)
        if self.workers > self.users:
            raise UsageError(
                f"--workers {self.workers} is more than --users {self.users}: "
                "a worker without users would record nothing"
            )

    def describe(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "duration_s": self.duration_s,
            "keys": self.keys,
            "write_ratio": self.write_ratio,
            "workers": self.workers,
            "think_ms": self.think_ms,
        }


@dataclass(frozen=True)
class RunSpec:
    """One run of the pipeline: which stack, which load, which name, where the files go."""

    label: str  # names the files and the report's column in a comparison
    scenario: str  # "consistency", "upgrade", ...
    stack: StackConfig
    load: LoadSettings
    out_dir: Path
    argv: Sequence[str] = ()  # the command line that asked for it, for the report
    target: Target | None = None  # a running deployment to load instead of starting a stack
    deployment: Deployment | None = None  # one the caller opened (lbdemo load's running stack)
    # the running stack's own description of its layout (lbdemo load: from its stack.json), for
    # a target lbdemo started itself with `up`; None: a target is described as someone else's
    layout_described: dict[str, Any] | None = None


@dataclass
class RunContext:
    """What a scenario's steps get: the running deployment, and where to record what they did."""

    stack: Deployment
    spec: RunSpec
    progress: Progress
    history_file: Path
    extra_audit_keys: set[str] = field(default_factory=set)
    periods: list[dict[str, Any]] = field(default_factory=list)  # monotonic start/end + label

    @property
    def local_stack(self) -> Stack:
        """The local runtime's stack, for scenarios that act on its containers (the plan
        refuses those scenarios on another runtime before anything starts)."""
        local = self.stack.local_stack
        if local is None:
            raise UsageError(f"the {self.spec.scenario} scenario runs on the local runtime only")
        return local

    @property
    def live_stack(self) -> LiveStack:
        """The stack, on either runtime, for scenarios that act on its containers (the plan
        refuses those scenarios on a ``--target`` before anything starts)."""
        live = self.stack.live_stack
        if live is None:
            raise UsageError(f"the {self.spec.scenario} scenario needs a stack lbdemo runs")
        return live


class Scenario:
    """The consistency scenario, and the base of every other: it adds nothing to the pipeline."""

    name = "consistency"

    async def before(self, ctx: RunContext) -> None:
        """Runs once the stack is up, before the load starts."""

    async def during(self, ctx: RunContext, load: asyncio.Task[LocustRun]) -> None:
        """Runs while the load runs (the load task is given to wait for its traffic)."""

    def report_section(
        self, ctx: RunContext, history: History, audit: Audit
    ) -> dict[str, Any] | None:
        """What this scenario adds to the report, under its own key (None: nothing)."""
        return None

    def render_section(self, section: dict[str, Any]) -> str:
        """That section in Markdown, appended to the report's own."""
        return ""


@dataclass
class RunOutcome:
    report: dict[str, Any]
    history: History
    result: CheckResult
    audit: Audit
    json_path: Path
    markdown_path: Path


async def run_under_load(spec: RunSpec, scenario: Scenario, progress: Progress) -> RunOutcome:
    """Start the stack, load it (while the scenario does its part), audit, stop, check, report."""
    history_file = _fresh_history_file(spec)
    stack = spec.deployment or open_deployment(spec.stack, spec.target)
    progress(_starting_line(spec, stack.runtime_name))
    await stack.start()
    started_at = datetime.now(UTC)
    ctx = RunContext(stack, spec, progress, history_file)
    replication = _Replication.of(spec, stack.local_stack)
    live = LIVE_VIEW.get()
    try:
        shown = stack.live_stack
        if live is not None and shown is not None:
            await live.watch(shown)
        if spec.target is None:
            progress(f"stack up in {stack.started_in_s:.2f} s; balancer {stack.url}")
        else:  # already running: lbdemo only checked that it answers
            progress(
                f"{len(stack.replicas)} replicas answer ({stack.started_in_s:.2f} s); "
                f"balancer {stack.url}"
            )
        loaded = await _load_and_audit(ctx, scenario, replication, live)
    finally:
        if replication is not None:
            await replication.sampler.stop()
        if live is not None:
            await live.forget()
        await stack.stop()
    audit = restrict(loaded.full_audit, loaded.run_keys)
    write_json(spec.out_dir / f"{spec.label}-audit.json", audit.to_dict())
    history = read_history([history_file])
    began = time.monotonic()
    result = check(history, audit)
    progress(f"checked {len(history.ops):,} operations in {time.monotonic() - began:.2f} s")
    meta = _run_meta(ctx, scenario, loaded.run, history, started_at)
    report = build_report(result, history, audit, meta)
    markdown = render_markdown(report)
    if replication is not None:
        section = replication.section(result, history, spec.stack.layout)
        report["replication"] = section
        markdown += render_replication(section)
    own = scenario.report_section(ctx, history, loaded.full_audit)
    if own is not None:
        report[scenario.name] = own
        markdown += scenario.render_section(own)
    return _write_report(spec, report, markdown, history, result, audit)


def _fresh_history_file(spec: RunSpec) -> Path:
    """The run's history file, in an output directory that exists, with no earlier run's."""
    out = spec.out_dir
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out}: {exc.strerror or exc}") from None
    history_file = out / f"{spec.label}-history.jsonl"
    history_file.unlink(missing_ok=True)
    return history_file


def _starting_line(spec: RunSpec, runtime_name: str) -> str:
    if spec.target is not None:
        return (
            f"checking the deployment at {spec.target.url} and its "
            f"{len(spec.target.replica_urls)} replicas ..."
        )
    return (
        f"starting {spec.stack.replicas} replicas with {spec.stack.layout.summary} "
        f"({runtime_name} runtime) ..."
    )


@dataclass
class _Replication:
    """Replicated layouts: lag sampled on the primary during the load; standbys caught up with
    the primary before the load (the schema) and before the audit (what each one serves)."""

    stack: Stack
    standbys: int
    sampler: LagSampler
    catch_up_s: float
    caught_up_s: float | None = None

    @classmethod
    def of(cls, spec: RunSpec, local: Stack | None) -> _Replication | None:
        layout = spec.stack.layout
        if not layout.replicated or local is None:
            return None
        catch_up_s = layout.apply_delay_ms / 1000.0 + CATCH_UP_SLACK_S
        return cls(local, spec.stack.replicas, LagSampler(local), catch_up_s)

    async def before_load(self) -> None:
        await wait_caught_up(self.stack, self.standbys, self.catch_up_s)
        self.sampler.start()

    async def after_load(self, progress: Progress) -> None:
        await self.sampler.stop()
        self.caught_up_s = await wait_caught_up(self.stack, self.standbys, self.catch_up_s)
        progress(f"standbys caught up with the primary {self.caught_up_s:.2f} s after the load")

    def section(self, result: CheckResult, history: History, layout: Layout) -> dict[str, Any]:
        return replication_section(
            result,
            history,
            self.sampler,
            synchronous=layout.synchronous,
            apply_delay_ms=layout.apply_delay_ms,
            caught_up_s=self.caught_up_s,
        )


async def _engine_caught_up(ctx: RunContext) -> None:
    """A stack's Redis/etcd copies (replicas, members) given the time to apply what the
    primary/leader acknowledged before the audit asks what each serves, as PostgreSQL's standbys
    are (an engine without ``wait_caught_up`` has nothing to wait for)."""
    local = ctx.stack.local_stack
    engine = getattr(local, "engine", None) if local is not None else None
    wait = getattr(engine, "wait_caught_up", None)
    if wait is None:
        return
    layout = ctx.spec.stack.layout
    took = await wait(layout.apply_delay_ms / 1000.0 + CATCH_UP_SLACK_S)
    ctx.progress(f"{layout.store} copies caught up {took:.2f} s after the load")


@dataclass
class _Loaded:
    run: LocustRun
    full_audit: Audit  # every key the audit asked for (the scenario's own too)
    run_keys: set[str]  # the keys of this run's load


async def _load_and_audit(
    ctx: RunContext, scenario: Scenario, replication: _Replication | None, live: LiveView | None
) -> _Loaded:
    """The scenario's ``before``, the load with its ``during``, then the final audit."""
    spec, progress, load = ctx.spec, ctx.progress, ctx.spec.load
    # Keys of this run's own: a shared volume (or --dsn server) keeps earlier runs' rows,
    # which this run's history knows nothing of.
    key_prefix = f"{spec.label}-{secrets.token_hex(4)}-p"
    await scenario.before(ctx)
    if replication is not None:
        await replication.before_load()
    crew = f" on {load.workers} Locust workers" if load.workers else ""
    progress(f"load: {load.users} Locust users{crew} for {load.duration_s:g} s")
    locust = asyncio.create_task(_run_load(ctx, key_prefix, live))
    try:
        await scenario.during(ctx, locust)
        run = await locust
    finally:
        if not locust.done():
            locust.cancel()
            await asyncio.gather(locust, return_exceptions=True)
    if replication is not None:
        await replication.after_load(progress)
    await _engine_caught_up(ctx)
    progress("final audit: asking every replica directly ...")
    run_keys = {f"{key_prefix}{n}" for n in range(load.keys)}
    full_audit = await take_audit(
        [(r.name, r.url) for r in ctx.stack.replicas], run_keys | ctx.extra_audit_keys
    )
    return _Loaded(run, full_audit, run_keys)


async def _run_load(ctx: RunContext, key_prefix: str, live: LiveView | None) -> LocustRun:
    """Locust against the balancer, its lines to the live view and the progress."""
    spec, load = ctx.spec, ctx.spec.load

    def on_locust_line(line: str) -> None:
        if live is not None:
            live.locust_line(line)
        _locust_progress(line, load.duration_s, ctx.progress)

    return await run_locust(
        ctx.stack.url,
        ctx.history_file,
        users=load.users,
        spawn_rate=load.users,
        duration_s=load.duration_s,
        keys=load.keys,
        write_ratio=load.write_ratio,
        key_prefix=key_prefix,
        workers=load.workers,
        think_ms=load.think_ms,
        csv_prefix=spec.out_dir / f"{spec.label}-locust",
        html=spec.out_dir / f"{spec.label}-locust.html",
        on_line=on_locust_line,
    )


def _run_meta(
    ctx: RunContext, scenario: Scenario, run: LocustRun, history: History, started_at: datetime
) -> dict[str, Any]:
    """What the report says about the run besides the check: settings, what ran it, files."""
    spec, stack, label = ctx.spec, ctx.stack, ctx.spec.label
    # The docker runtime's engine version and image (tag and id): what ran the containers.
    docker_info = stack.runtime_report()
    return {
        "label": label,
        "scenario": scenario.name,
        "layout": _described_layout(spec, stack.runtime_name),
        "settings": {
            "replicas": len(stack.replicas) if spec.target else spec.stack.replicas,
            **spec.load.describe(),
            "strategy": spec.stack.strategy,
            "image": docker_info["image"] if docker_info else spec.stack.image,
        },
        "started_at": started_at.isoformat(timespec="seconds"),
        "stack_start_s": round(stack.started_in_s or 0.0, 3),
        **({"docker": docker_info} if docker_info else {}),
        "periods": [_relative(p, history) for p in ctx.periods],
        "locust": {
            "exit_code": run.exit_code,
            "requests": run.stats.requests if run.stats else None,
            "failures": run.stats.failures if run.stats else None,
            "stale_reads": run.stats.stale_reads if run.stats else None,
        },
        "files": {
            "history": ctx.history_file.name,
            "audit": f"{label}-audit.json",
            "locust_csv": f"{label}-locust_stats.csv",
            "locust_html": f"{label}-locust.html",
            "html": f"{label}.html",
        },
        **run_provenance(
            spec.argv,
            postgresql=None
            if spec.stack.layout.dsn or spec.target or not spec.stack.layout.postgres
            else embedded_postgres_version(),
        ),
        **_store_provenance(spec.stack.layout),
    }


def _store_provenance(layout: Layout) -> dict[str, Any]:
    """A store beyond PostgreSQL: which engine (and version) and read mode served the reads."""
    if layout.postgres:
        return {}
    return {
        "store": {
            "kind": layout.store,
            "version": engine_version(layout.store),
            "read_mode": layout.reads_served_by,
        }
    }


def _write_report(
    spec: RunSpec,
    report: dict[str, Any],
    markdown: str,
    history: History,
    result: CheckResult,
    audit: Audit,
) -> RunOutcome:
    """The report as JSON, Markdown and HTML, by this one writer."""
    out, label = spec.out_dir, spec.label
    json_path = out / f"{label}.json"
    markdown_path = out / f"{label}.md"
    write_json(json_path, report)
    write_text(markdown_path, markdown)
    write_text(
        out / f"{label}.html", render_report_html(report, history, result, audit, link_base=out)
    )
    return RunOutcome(report, history, result, audit, json_path, markdown_path)


def _described_layout(spec: RunSpec, runtime: str) -> dict[str, Any]:
    """The report's ``layout``: the stack's own, or for a target only what the user said it runs
    (lbdemo did not start it, so it knows no volume or server of it)."""
    layout = spec.stack.layout
    if spec.target is None:
        return layout.describe(runtime=runtime)
    if spec.layout_described is not None:
        # what stack.json says of the layout, the store and its read mode too (not its pids)
        known = [
            *("name", "storage", "runtime", "summary"),
            *("store", "read_mode", "volume", "apply_delay_ms"),
        ]
        return {k: spec.layout_described[k] for k in known if k in spec.layout_described}
    summary = (
        f"a running deployment at {spec.target.url} with {len(spec.target.replica_urls)} "
        f"replicas, said to run {layout.storage} storage (started by someone else: lbdemo only "
        "loaded and audited it)"
    )
    return {"name": layout.name, "storage": layout.storage, "runtime": runtime, "summary": summary}


def _relative(period: dict[str, Any], history: History) -> dict[str, Any]:
    """A period recorded in monotonic seconds, as seconds from the history's first operation
    (CLOCK_MONOTONIC is machine-wide: Locust's clock and ours are the same clock)."""
    t0 = history.t0
    return {
        "label": period["label"],
        "start_s": round(period["start"] - t0, 3),
        "end_s": round(period["end"] - t0, 3),
    }


def _locust_progress(line: str, duration_s: float, progress: Progress) -> None:
    fields = progress_fields(line)
    if fields is None:
        return
    try:
        left = max(0.0, duration_s - (elapsed_s(fields) if "elapsed" in fields else 0.0))
        remaining = f"{left:4.0f} s left"
    except ValueError:
        remaining = ""
    progress(
        f"  {remaining}  ops={int(fields.get('ops', 0)):>7,} ({fields.get('ops_per_s', '?')}/s)"
        f"  stale reads seen live={fields.get('stale_reads', '?')}"
    )


async def wait_for_traffic(history_file: Path, load: asyncio.Task[LocustRun]) -> None:
    """Until Locust has recorded a few operations (or has ended: its crash is raised).

    With workers the operations are in the workers' parts until the end of the run."""
    deadline = time.monotonic() + HISTORY_WAIT_S
    while time.monotonic() < deadline and not load.done():
        if sum(map(_lines, live_history_files(history_file))) > 5:
            return
        await asyncio.sleep(0.1)
    if load.done():
        await load  # raises the crash, if that is why it ended
    raise TimeoutError("Locust sent no request in time")


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0
