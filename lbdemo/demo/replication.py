"""Replication lag of the replicated layouts, measured two ways, for the report's ``replication``.

* From the history: for every stale read, how long after the first newer write had been
  acknowledged the read still returned the older value (read invoke minus that write's
  acknowledgement). What the clients felt.
* From the primary: ``pg_stat_replication.replay_lag`` of every standby, sampled during the
  load. What PostgreSQL says (it includes ``recovery_min_apply_delay``; NULL when nothing is
  pending, which is counted, not shown as zero).

Before the load and before the final audit the standbys are waited for until they have replayed
everything the primary had written (:func:`wait_caught_up`): the schema is on every standby
before the first read, and the audit asks what each replica serves once replication is done.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import time
from typing import Any

import asyncpg

from lbdemo.checker import CheckResult
from lbdemo.checker.anomalies import STALE_READ
from lbdemo.errors import StoreError
from lbdemo.history import History, Op
from lbdemo.report.markdown import table
from lbdemo.report.stats import percentile
from lbdemo.runtime.stack import Stack

SAMPLE_EVERY_S = 0.2
CATCH_UP_SLACK_S = 15.0  # beyond the apply delay: a loaded machine replays slowly

REPLAY_LAG = """
SELECT application_name, EXTRACT(EPOCH FROM replay_lag) * 1000.0 AS replay_lag_ms, sync_state
  FROM pg_stat_replication
"""
BEHIND = """
SELECT count(*) FILTER (WHERE replay_lsn IS NULL OR replay_lsn < ($1::text)::pg_lsn) AS behind,
       count(*) AS standbys
  FROM pg_stat_replication
"""


async def connect_primary(stack: Stack) -> asyncpg.Connection:
    """A connection to the stack's primary (the store container), with the stack's password."""
    store = stack.runtime.stack_store
    if store is None:
        raise StoreError("no primary: the stack's store container is not running")
    try:
        return await asyncpg.connect(
            store.store_dsn, password=stack.runtime.pg_password, timeout=10
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise StoreError(f"cannot connect to the primary: {exc}") from exc


async def wait_caught_up(stack: Stack, standbys: int, timeout_s: float) -> float:
    """Until ``standbys`` standbys have replayed the primary's WAL up to now; the seconds it
    took. A StoreError if they have not within ``timeout_s``."""
    began = time.monotonic()
    conn = await connect_primary(stack)
    try:
        target = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
        while True:
            row = await conn.fetchrow(BEHIND, target)
            if row["standbys"] >= standbys and row["behind"] == 0:
                return time.monotonic() - began
            if time.monotonic() - began > timeout_s:
                raise StoreError(
                    f"the standbys did not catch up with the primary in {timeout_s:g} s "
                    f"({row['standbys']} connected, {row['behind']} behind)"
                )
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


class LagSampler:
    """``pg_stat_replication`` on the primary every :data:`SAMPLE_EVERY_S`, while it runs."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._task: asyncio.Task[None] | None = None
        self.samples: list[tuple[float, str, float | None]] = []  # (t, standby, lag ms or None)
        self.errors = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        conn = await connect_primary(self._stack)
        try:
            while True:
                try:
                    rows = await conn.fetch(REPLAY_LAG)
                except (OSError, asyncpg.PostgresError):
                    self.errors += 1  # the primary restarting: the next sample tells
                else:
                    now = time.monotonic()
                    for row in rows:
                        lag = row["replay_lag_ms"]
                        self.samples.append(
                            (now, row["application_name"], None if lag is None else float(lag))
                        )
                await asyncio.sleep(SAMPLE_EVERY_S)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()


def _summary(values: list[float]) -> dict[str, float | int | None]:
    ordered = sorted(values)

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "count": len(ordered),
        "p50": r(percentile(ordered, 50)),
        "p99": r(percentile(ordered, 99)),
        "max": r(ordered[-1] if ordered else None),
    }


def history_lags_ms(result: CheckResult, history: History) -> list[float]:
    """Per stale read: how long after the *first* write newer than the value it returned had
    been acknowledged the read still returned the older value (read invoke minus that write's
    acknowledgement), in ms: the staleness a client saw, comparable with replay_lag. "Newer":
    invoked after the returned write completed; acknowledged before the read began."""
    writes: dict[str, list[Op]] = {}
    by_id: dict[str, Op] = {}
    for op in history.ops:
        if op.op == "write" and op.outcome == "ok":
            writes.setdefault(op.key, []).append(op)
            if op.write_id is not None:
                by_id[op.write_id] = op
    for ops in writes.values():
        ops.sort(key=lambda op: op.complete)
    completes = {key: [op.complete for op in ops] for key, ops in writes.items()}
    lags = []
    for anomaly in result.anomalies(STALE_READ):
        read = anomaly.ops[0]
        returned = by_id.get(read.write_id) if read.write_id is not None else None
        after = returned.complete if returned is not None else -math.inf
        ops = writes.get(read.key, [])
        for i in range(bisect.bisect_right(completes.get(read.key, []), after), len(ops)):
            newer = ops[i]
            if newer.complete >= read.invoke:
                break
            if newer.invoke > after:
                lags.append((read.invoke - newer.complete) * 1000.0)
                break
    return lags


def replication_section(
    result: CheckResult,
    history: History,
    sampler: LagSampler,
    *,
    synchronous: bool,
    apply_delay_ms: int,
    caught_up_s: float | None,
) -> dict[str, Any]:
    """The report's ``replication`` key."""
    writes = sorted(
        (op.complete - op.invoke) * 1000.0
        for op in history.ops
        if op.op == "write" and op.outcome == "ok"
    )
    replay = [lag for _, _, lag in sampler.samples if lag is not None]
    standbys = sorted({name for _, name, _ in sampler.samples})
    return {
        "synchronous": synchronous,
        "apply_delay_ms": apply_delay_ms,
        "standbys": standbys,
        "stale_reads": result.counts.get(STALE_READ, 0),
        "lag_from_history_ms": _summary(history_lags_ms(result, history)),
        "replay_lag_ms": {
            **_summary(replay),
            "samples": len(sampler.samples),
            "samples_idle": len(sampler.samples) - len(replay),
            "sample_errors": sampler.errors,
            "every_s": SAMPLE_EVERY_S,
        },
        "write_latency_ms": _summary(writes),
        "caught_up_before_audit_s": None if caught_up_s is None else round(caught_up_s, 3),
        "replay_lag_series": replay_lag_series(sampler.samples, history.t0, standbys),
    }


def replay_lag_series(
    samples: list[tuple[float, str, float | None]], t0: float, standbys: list[str]
) -> dict[str, Any]:
    """The samples as the report page draws them: one column of times (seconds from the
    history's first operation; the sampler's clock is the same CLOCK_MONOTONIC) and, per standby,
    its replay_lag in ms at each of them (null: nothing to replay, or no row for it then)."""
    times = sorted({t for t, _, _ in samples})
    at = {t: i for i, t in enumerate(times)}
    lags: dict[str, list[float | None]] = {name: [None] * len(times) for name in standbys}
    for t, name, lag in samples:
        if name in lags:
            lags[name][at[t]] = None if lag is None else round(lag, 3)
    return {"t_s": [round(t - t0, 3) for t in times], "standbys": lags}


def render_replication(section: dict[str, Any]) -> str:
    """The section in Markdown, appended to the report."""

    def ms(value: Any) -> str:
        return "–" if value is None else f"{value:,.1f}"

    kind = "synchronous (remote_apply)" if section["synchronous"] else "asynchronous"
    delay = section["apply_delay_ms"]
    history, replay = section["lag_from_history_ms"], section["replay_lag_ms"]
    writes = section["write_latency_ms"]
    rows = [
        [
            "stale read: read invoke − first newer write's ack (ms)",
            str(history["count"]),
            ms(history["p50"]),
            ms(history["p99"]),
            ms(history["max"]),
        ],
        [
            "pg_stat_replication.replay_lag (ms)",
            str(replay["count"]),
            ms(replay["p50"]),
            ms(replay["p99"]),
            ms(replay["max"]),
        ],
        [
            "write latency (ms)",
            str(writes["count"]),
            ms(writes["p50"]),
            ms(writes["p99"]),
            ms(writes["max"]),
        ],
    ]
    lines = [
        "",
        "## Replication",
        "",
        f"{len(section['standbys'])} {kind} standbys"
        + (f", recovery_min_apply_delay {delay} ms" if delay else "")
        + f"; {section['stale_reads']:,} stale reads.",
        "",
        table(["measure", "count", "p50", "p99", "max"], rows, right=(1, 2, 3, 4)),
        "",
        f"replay_lag sampled on the primary every {replay['every_s']:g} s: "
        f"{replay['samples']:,} samples, {replay['samples_idle']:,} with nothing to replay "
        "(NULL, not counted above).",
        "",
    ]
    return "\n".join(lines)
