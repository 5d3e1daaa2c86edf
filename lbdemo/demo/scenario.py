"""One scenario: bring a stack up, load it with Locust, audit it, check the history, report.

Its files, under ``out_dir``: ``<name>-history.jsonl`` (every operation), ``<name>-audit.json``,
``<name>.json`` and ``<name>.md`` (the report), and Locust's own ``<name>-locust_*.csv`` and
``<name>-locust.html``.
"""

from __future__ import annotations

import json
import secrets
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lbdemo.checker import check
from lbdemo.demo.audit import take_audit
from lbdemo.history import read_history
from lbdemo.loadrun import run_locust
from lbdemo.report import build_report, render_markdown
from lbdemo.stack import Stack, StackConfig, Storage

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ScenarioConfig:
    name: str
    storage: Storage
    state_root: Path
    out_dir: Path
    replicas: int = 3
    users: int = 20
    duration_s: float = 20.0
    keys: int = 8
    write_ratio: float = 0.3
    dsn: str | None = None
    strategy: str = "round-robin"


@dataclass(frozen=True)
class ScenarioOutcome:
    report: dict[str, Any]
    json_path: Path
    markdown_path: Path


async def run_scenario(config: ScenarioConfig, progress: Progress) -> ScenarioOutcome:
    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    history_file = out / f"{config.name}-history.jsonl"
    history_file.unlink(missing_ok=True)
    stack = Stack(StackConfig(
        state_root=config.state_root, replicas=config.replicas, storage=config.storage,
        dsn=config.dsn, balancer_listen="127.0.0.1:0", strategy=config.strategy,
    ))
    progress(f"starting {config.replicas} replicas with {_layout(config)} ...")
    await stack.start()
    started_at = datetime.now(UTC)
    try:
        progress(f"stack up in {stack.started_in_s:.2f} s; balancer {stack.url}")
        progress(f"load: {config.users} Locust users for {config.duration_s:g} s")
        # Keys of this run's own: a shared volume (or --dsn server) keeps earlier runs' rows,
        # which this run's history knows nothing of.
        key_prefix = f"{config.name}-{secrets.token_hex(4)}-p"
        run = await run_locust(
            stack.url, history_file, users=config.users, spawn_rate=config.users,
            duration_s=config.duration_s, keys=config.keys, write_ratio=config.write_ratio,
            key_prefix=key_prefix,
            csv_prefix=out / f"{config.name}-locust", html=out / f"{config.name}-locust.html",
            on_line=lambda line: _locust_progress(line, progress),
        )
        progress("final audit: asking every replica directly ...")
        history = read_history([history_file])
        keys = {f"{key_prefix}{n}" for n in range(config.keys)}
        audit = await take_audit([(r.name, r.url) for r in stack.replicas], keys)
    finally:
        await stack.stop()
    (out / f"{config.name}-audit.json").write_text(json.dumps(audit.to_dict(), indent=2) + "\n")
    began = time.monotonic()
    result = check(history, audit)
    progress(f"checked {len(history.ops):,} operations in {time.monotonic() - began:.2f} s")
    meta = {
        "scenario": config.name,
        "storage": config.storage,
        "store": "external --dsn" if config.dsn else "embedded PostgreSQL (pgserver)",
        "replicas": config.replicas,
        "users": config.users,
        "duration_s": config.duration_s,
        "keys": config.keys,
        "write_ratio": config.write_ratio,
        "strategy": config.strategy,
        "started_at": started_at.isoformat(timespec="seconds"),
        "stack_start_s": round(stack.started_in_s or 0.0, 3),
        "locust": {
            "exit_code": run.exit_code,
            "requests": run.stats.requests if run.stats else None,
            "failures": run.stats.failures if run.stats else None,
            "stale_reads_reported_live": run.stats.stale_reads if run.stats else None,
        },
        "command": " ".join(shlex.quote(a) for a in ["lbdemo", *sys.argv[1:]]),
        "files": {
            "history": history_file.name,
            "audit": f"{config.name}-audit.json",
            "locust_csv": f"{config.name}-locust_stats.csv",
            "locust_html": f"{config.name}-locust.html",
        },
    }
    report = build_report(result, history, audit, meta)
    json_path = out / f"{config.name}.json"
    markdown_path = out / f"{config.name}.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    markdown_path.write_text(render_markdown(report))
    return ScenarioOutcome(report, json_path, markdown_path)


def _layout(config: ScenarioConfig) -> str:
    if config.dsn:
        return "one shared external PostgreSQL (--dsn)"
    if config.storage == "shared":
        return "one shared PostgreSQL on a named volume"
    return "a private PostgreSQL each, in its container layer"


def _locust_progress(line: str, progress: Progress) -> None:
    if not line.startswith("progress:"):
        return
    fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
    progress(
        f"  t={fields.get('elapsed', '?'):>6}  ops={int(fields.get('ops', 0)):>7,}  "
        f"({fields.get('ops_per_s', '?')}/s)  "
        f"stale reads seen live={fields.get('stale_reads', '?')}"
    )
