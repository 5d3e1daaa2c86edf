"""Run the Locust workload (``lbdemo/load/locustfile.py``) in its own process; read its results.

Locust monkey-patches the interpreter with gevent, so it never runs inside lbdemo's asyncio
processes: :func:`run_locust` starts ``python -m locust`` as a child, streams its output lines to
a callback, enforces a hard deadline, and reads the final totals from the workload's one-line
``summary:`` (Locust's own CSV files lag up to a second behind the end of the run, so they are
only the fallback).

Locust exits with status 1 when any request failed, which includes the stale reads the workload
reports on purpose; that is a finished run with findings, not a crash. A crash is an exit
status of 2 or more (or death by a signal), or a run that left no history.

With ``workers`` (``lbdemo demo --workers N``) the same run uses Locust's distributed mode: one
master and N workers on 127.0.0.1 (:mod:`lbdemo.load.distributed`), every one of them stopped here
whatever happens, and the workers' parts of the history merged into the one history file
(:mod:`lbdemo.load.merge`); a worker that died or left an incomplete part is a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import math
import os
import re
import signal
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lbdemo.errors import ProcessError, UsageError
from lbdemo.history import worker_history_path
from lbdemo.load.distributed import (
    EXPECT_WORKERS_WAIT_S,
    ProgressCombiner,
    WorkerSummary,
    check_workers,
    master_options,
    parse_worker_summary,
    worker_command,
)
from lbdemo.load.lines import SUMMARY_MARK, summary_data
from lbdemo.load.merge import WorkerPart, merge_worker_histories
from lbdemo.process.ports import free_port

# Beside this module, in the package: an installed lbdemo carries its workload.
LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
DEFAULT_KEY_PREFIX = "p"
# Product ids are [A-Za-z0-9_-]{1,64}; leave room for the key number.
KEY_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,48}")
STALE_READ_MARK = "stale read"
# Locust needs a moment to import gevent and spawn users, and a moment to write its reports.
DEFAULT_GRACE_S = 20.0
# How long a terminated Locust may take to flush its history and reports before it is killed.
TERMINATE_WAIT_S = 5.0
# How long workers may take to quit once the master has ended the run.
WORKER_QUIT_WAIT_S = 10.0
_OUTPUT_TAIL_LINES = 40
# A user's pause between operations: up to 10 s, for a slow trickle, never a stall.
MAX_THINK_MS = 10_000.0


@dataclass(frozen=True)
class LocustStats:
    """A run's totals: requests and failures as Locust counts them, and the stale reads among them.

    ``ops_recorded`` is the number of history lines (None when read from CSV): it exceeds
    ``requests`` by the writes the end of the run interrupted, recorded as ``unknown``.
    """

    requests: int
    failures: int
    rps: float
    stale_reads: int
    ops_recorded: int | None = None


@dataclass(frozen=True)
class LocustRun:
    """What one Locust run left behind."""

    exit_code: int | None  # None: the process had to be killed (see ``timed_out``)
    history_file: Path
    csv_prefix: Path | None
    html: Path | None
    stats: LocustStats | None  # None when Locust reported no totals (it crashed early)
    timed_out: bool = False
    output_tail: list[str] = field(default_factory=list)
    workers: int = 0  # 0: one local Locust process; N: a master and N workers
    worker_problem: str | None = None  # a worker died, or its part of the history is unsound

    @property
    def had_failures(self) -> bool:
        """Locust's exit status 1: the run finished and some requests failed (e.g. stale reads)."""
        return self.exit_code == 1

    @property
    def crash_reason(self) -> str | None:
        """Why this run is not a finished run, or None when it is one."""
        if self.timed_out:
            return "Locust did not finish in time and was stopped"
        if self.exit_code is None or self.exit_code < 0:
            return f"Locust was killed by a signal (exit status {self.exit_code})"
        if self.exit_code >= 2:
            return f"Locust failed with exit status {self.exit_code}"
        if self.worker_problem is not None:
            return self.worker_problem
        if not _has_header(self.history_file):
            return f"Locust wrote no history to {self.history_file}"
        return None

    @property
    def crashed(self) -> bool:
        return self.crash_reason is not None

    def raise_if_crashed(self) -> None:
        reason = self.crash_reason
        if reason is None:
            return
        last = next((line for line in reversed(self.output_tail) if line.strip()), "")
        raise ProcessError(f"{reason}: {last.strip()}" if last else reason)


def find_locustfile() -> Path:
    """The workload file inside the installed package; a commands calls this before it starts
    anything, so a broken install is named before a stack runs."""
    if not LOCUSTFILE.is_file():
        raise ProcessError(
            f"the Locust workload {LOCUSTFILE} is missing from the installed package; "
            "reinstall lbdemo"
        )
    return LOCUSTFILE


@dataclass(frozen=True)
class LoadPlan:
    """What Locust is asked to do: how many users, how fast, how long, on which keys."""

    users: int
    spawn_rate: float
    duration_s: float
    keys: int = 8
    write_ratio: float = 0.3
    key_prefix: str = DEFAULT_KEY_PREFIX
    workers: int = 0
    think_ms: float = 0.0  # each user's pause between two operations

    def check(self) -> None:
        """Raise UsageError for a value Locust would refuse or misread; nothing has started."""
        check_workers(self.workers)
        if self.workers > self.users:
            raise UsageError(
                f"{self.workers} workers for {self.users} users would leave workers idle; "
                "use at most as many workers as users"
            )
        if self.users < 1:
            raise UsageError(f"users must be at least 1, not {self.users}")
        if not self.spawn_rate > 0:
            raise UsageError(f"spawn rate must be positive, not {self.spawn_rate}")
        if not self.duration_s > 0:
            raise UsageError(f"duration must be positive, not {self.duration_s}")
        if self.keys < 1:
            raise UsageError(f"keys must be at least 1, not {self.keys}")
        if not 0.0 <= self.write_ratio <= 1.0:
            raise UsageError(f"write ratio must be between 0 and 1, not {self.write_ratio}")
        if not 0.0 <= self.think_ms <= MAX_THINK_MS:
            raise UsageError(
                f"think time must be between 0 and {MAX_THINK_MS:g} ms, not {self.think_ms:g}"
            )
        if not KEY_PREFIX.fullmatch(self.key_prefix):
            raise UsageError(f"key prefix must match {KEY_PREFIX.pattern}, not {self.key_prefix!r}")

    def locust_args(self) -> list[str]:
        return [
            "-u",
            str(self.users),
            "-r",
            f"{self.spawn_rate:g}",
            # Locust's run time is whole seconds; round up so a short run still runs.
            "-t",
            f"{max(1, math.ceil(self.duration_s))}s",
            "--keys",
            str(self.keys),
            "--key-prefix",
            self.key_prefix,
            "--write-ratio",
            f"{self.write_ratio:g}",
            "--think-ms",
            f"{self.think_ms:g}",
        ]


def locust_command(
    locustfile: Path,
    host: str,
    history_file: Path,
    plan: LoadPlan,
    *,
    csv_prefix: Path | None,
    html: Path | None,
    progress_interval_s: float,
) -> list[str]:
    """The argv that runs the workload headless; its only output is progress lines and a summary."""
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        "--headless",
        "--only-summary",
        "--host",
        host,
        *plan.locust_args(),
        "--history-file",
        str(history_file),
        "--progress-interval",
        f"{progress_interval_s:g}",
    ]
    if csv_prefix is not None:
        argv += ["--csv", str(csv_prefix)]
    if html is not None:
        argv += ["--html", str(html)]
    return argv


async def run_locust(
    host: str,
    history_file: Path,
    *,
    users: int,
    spawn_rate: float,
    duration_s: float,
    keys: int = 8,
    write_ratio: float = 0.3,
    key_prefix: str = DEFAULT_KEY_PREFIX,
    csv_prefix: Path | None = None,
    html: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    progress_interval_s: float = 1.0,
    grace_s: float = DEFAULT_GRACE_S,
    check: bool = True,
    workers: int = 0,
    think_ms: float = 0.0,
) -> LocustRun:
    """Run the workload against ``host`` for ``duration_s`` seconds and return what it left.

    ``on_line`` receives every output line of Locust (progress lines start with ``progress:``).
    The process is stopped (SIGTERM, then SIGKILL) when it outlives ``duration_s + grace_s``
    or when the calling task is cancelled. With ``check`` (the default) a crash raises
    :class:`ProcessError`; a run whose only problem is failed requests (exit status 1) does not.
    Locust writes ``<csv_prefix>_stats.csv`` etc. and an HTML report only when asked to.
    Product ids are ``<key_prefix>0`` ... ``<key_prefix><keys - 1>``: a prefix of its own per run
    keeps a run clear of rows earlier runs left on a shared volume.
    With ``workers`` > 0, Locust's distributed mode (see the module's docstring). ``think_ms``:
    each user pauses that long between two operations (0: none, the most load it can make).
    """
    plan = LoadPlan(users, spawn_rate, duration_s, keys, write_ratio, key_prefix, workers, think_ms)
    plan.check()
    _check_paths(host, history_file, csv_prefix, html)
    locustfile = find_locustfile()
    argv = locust_command(
        locustfile,
        host,
        history_file,
        plan,
        csv_prefix=csv_prefix,
        html=html,
        progress_interval_s=progress_interval_s,
    )
    # The run replaces the file anyway; removing it first means a crash before Locust's first
    # write cannot pass an old run's history off as this run's.
    history_file.unlink(missing_ok=True)
    if workers:
        run = await _run_distributed(
            argv,
            locustfile,
            history_file,
            csv_prefix,
            html,
            workers,
            deadline_s=duration_s + grace_s + EXPECT_WORKERS_WAIT_S,
            on_line=on_line,
        )
    else:
        result = await run_process(argv, deadline_s=duration_s + grace_s, on_line=on_line)
        stats = parse_summary(result.summary_line)
        if stats is None and csv_prefix is not None:
            stats = read_stats(csv_prefix)
        run = LocustRun(
            exit_code=result.exit_code,
            history_file=history_file,
            csv_prefix=csv_prefix,
            html=html,
            stats=stats,
            timed_out=result.timed_out,
            output_tail=result.tail,
        )
    if check:
        run.raise_if_crashed()
    return run


async def _run_distributed(
    argv: list[str],
    locustfile: Path,
    history_file: Path,
    csv_prefix: Path | None,
    html: Path | None,
    workers: int,
    *,
    deadline_s: float,
    on_line: Callable[[str], None] | None,
) -> LocustRun:
    """One master (``argv`` plus the master's options) and ``workers`` workers, all stopped
    before this returns; the workers' parts merged into ``history_file`` when all is sound."""
    parts = [worker_history_path(history_file, k) for k in range(workers)]
    for part in parts:  # an earlier run's part must never pass for this run's
        part.unlink(missing_ok=True)
    port = free_port()
    worker_argv = worker_command(locustfile, history_file, port)
    combiner = ProgressCombiner(workers, on_line)
    master_argv = argv + master_options(port, workers)
    master = asyncio.ensure_future(run_process(master_argv, deadline_s=deadline_s, on_line=on_line))
    crew = [
        asyncio.ensure_future(
            run_process(worker_argv, deadline_s=deadline_s, on_line=combiner.feed)
        )
        for _ in range(workers)
    ]
    try:
        master_result = await master
        # The master told the workers to quit as it ended; give them a moment to do so.
        done, lingering = await asyncio.wait(crew, timeout=WORKER_QUIT_WAIT_S)
    except BaseException:
        # Cancelled (Ctrl-C): each task stops its process as it is cancelled.
        for task in (master, *crew):
            task.cancel()
        await asyncio.gather(master, *crew, return_exceptions=True)
        raise
    for task in lingering:
        task.cancel()
    await asyncio.gather(*lingering, return_exceptions=True)
    results = [task.result() for task in crew if task in done]
    tail = master_result.tail + [f"[worker] {line}" for r in results for line in r.tail[-5:]]
    problem = _worker_problem(workers, len(lingering), results)
    summaries = [s for s in map(parse_worker_summary, (r.summary_line for r in results)) if s]
    stats = _distributed_stats(master_result.summary_line, csv_prefix, summaries)
    master_finished = master_result.exit_code in (0, 1)
    if problem is None and master_finished:
        # A long run's parts hold a million operations: merged off the event loop, which
        # still serves the stack.
        problem, ops = await asyncio.to_thread(_merge, parts, summaries, history_file)
        if stats is not None and ops is not None:
            stats = LocustStats(stats.requests, stats.failures, stats.rps, stats.stale_reads, ops)
    return LocustRun(
        exit_code=master_result.exit_code,
        history_file=history_file,
        csv_prefix=csv_prefix,
        html=html,
        stats=stats,
        timed_out=master_result.timed_out,
        output_tail=tail,
        workers=workers,
        worker_problem=problem,
    )


def _worker_problem(workers: int, lingering: int, results: list[ProcessResult]) -> str | None:
    """Why the workers' processes did not all finish cleanly, or None."""
    if lingering:
        return f"{lingering} of {workers} Locust workers did not quit after the run; stopped"
    for result in results:
        # A worker's own exit status is 0, or 1 when failures were still unreported at its end.
        if result.timed_out or result.exit_code is None or result.exit_code not in (0, 1):
            how = "timed out" if result.timed_out else f"exit status {result.exit_code}"
            return f"a Locust worker did not finish the run ({how})"
    return None


def _distributed_stats(
    master_line: str | None, csv_prefix: Path | None, summaries: list[WorkerSummary]
) -> LocustStats | None:
    """Request totals from the master (which adds up the workers' statistics), live stale
    reads from the workers (only a worker's detector sees them)."""
    totals = parse_summary(master_line, master=True)
    if totals is None and csv_prefix is not None:
        totals = read_stats(csv_prefix)
    if totals is None:
        return None
    stale = sum(s.stale_reads for s in summaries)
    return LocustStats(totals.requests, totals.failures, totals.rps, stale, None)


def _merge(
    parts: list[Path], summaries: list[WorkerSummary], history_file: Path
) -> tuple[str | None, int | None]:
    """Merge the parts into ``history_file``; (why not, None) when a part is unsound."""
    reported = {s.worker: s.ops_recorded for s in summaries}
    if len(reported) != len(summaries):
        return "two Locust workers reported the same worker index", None
    pieces = [WorkerPart(k, path, reported.get(k)) for k, path in enumerate(parts)]
    try:
        merged = merge_worker_histories(pieces, history_file)
    except UsageError as exc:
        return f"the workers' histories do not merge: {exc}", None
    for path in parts:  # merged whole; the merged file's header names them
        path.unlink(missing_ok=True)
    return None, len(merged.ops)


def live_history_files(history_file: Path) -> list[Path]:
    """The files a run in progress is writing: the history itself, or its workers' parts."""
    parts = history_file.parent.glob(f"{history_file.stem}.w*{history_file.suffix}")
    return [history_file, *sorted(parts)]


def parse_summary(line: str | None, *, master: bool = False) -> LocustStats | None:
    """The totals from the workload's ``summary: {json}`` line, or None if absent or garbled.

    A distributed run's master (``master``) reports requests only: its stale reads and
    history are the workers' (0 and None here).
    """
    data = summary_data(line)
    if data is None:
        return None
    try:
        if master != (data.get("role") == "master"):
            return None
        return LocustStats(
            requests=int(data["requests"]),
            failures=int(data["failures"]),
            rps=float(data["rps"]),
            stale_reads=0 if master else int(data["stale_reads"]),
            ops_recorded=None if master else int(data["ops_recorded"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def read_stats(csv_prefix: Path) -> LocustStats | None:
    """Totals from ``<prefix>_stats.csv`` and stale reads from ``<prefix>_failures.csv``."""
    stats_path = Path(f"{csv_prefix}_stats.csv")
    try:
        with stats_path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return None
    total = next((row for row in rows if row.get("Name") == "Aggregated"), None)
    if total is None:
        return None
    stale = 0
    failures_path = Path(f"{csv_prefix}_failures.csv")
    with contextlib.suppress(OSError), failures_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if STALE_READ_MARK in row.get("Error", ""):
                stale += int(row.get("Occurrences") or 0)
    return LocustStats(
        requests=int(total["Request Count"]),
        failures=int(total["Failure Count"]),
        rps=float(total["Requests/s"]),
        stale_reads=stale,
    )


# ---- internals ----------------------------------------------------------------------------


def _check_paths(host: str, history_file: Path, csv_prefix: Path | None, html: Path | None) -> None:
    if not host.startswith(("http://", "https://")):
        raise UsageError(f"the load-test host must be an http:// URL, not {host!r}")
    if history_file.is_dir():
        raise UsageError(f"history file {history_file} is a directory")
    for what, path in (("history file", history_file), ("CSV prefix", csv_prefix), ("HTML", html)):
        if path is not None and not path.parent.is_dir():
            raise UsageError(f"{what} {path}: directory {path.parent} does not exist")


def _has_header(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as fh:
            return '"header"' in fh.readline()
    except (OSError, UnicodeDecodeError):
        return False


@dataclass(frozen=True)
class ProcessResult:
    exit_code: int | None  # None when the deadline passed and the process was stopped
    timed_out: bool
    tail: list[str]  # the last lines of output
    summary_line: str | None  # the last line starting with SUMMARY_MARK


async def run_process(
    argv: list[str],
    *,
    deadline_s: float,
    on_line: Callable[[str], None] | None = None,
    terminate_wait_s: float = TERMINATE_WAIT_S,
) -> ProcessResult:
    """Run ``argv`` (stdout and stderr merged, line by line to ``on_line``) until it exits.

    At ``deadline_s``, or when the calling task is cancelled, the process is terminated and,
    if it lingers, killed; it never outlives this call.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
    except OSError as exc:
        raise ProcessError(f"cannot start {argv[0]}: {exc.strerror or exc}") from exc
    output = _Output(on_line)
    reader = asyncio.ensure_future(output.pump(proc))
    timed_out = False
    try:
        await asyncio.wait_for(proc.wait(), timeout=deadline_s)
    except TimeoutError:
        timed_out = True
        await _stop(proc, terminate_wait_s)
    except BaseException:
        # Cancelled (Ctrl-C in the caller's asyncio.run): never leave the process running.
        await asyncio.shield(_stop(proc, terminate_wait_s))
        raise
    finally:
        # The pipe closes when the process is gone (unless it left children holding it).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reader), timeout=terminate_wait_s)
        reader.cancel()
    return ProcessResult(
        exit_code=None if timed_out else proc.returncode,
        timed_out=timed_out,
        tail=list(output.tail),
        summary_line=output.summary_line,
    )


class _Output:
    def __init__(self, on_line: Callable[[str], None] | None) -> None:
        self.on_line = on_line
        self.tail: deque[str] = deque(maxlen=_OUTPUT_TAIL_LINES)
        self.summary_line: str | None = None

    async def pump(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.tail.append(line)
            if line.startswith(SUMMARY_MARK):
                self.summary_line = line
            if self.on_line is not None:
                self.on_line(line)


async def _stop(proc: asyncio.subprocess.Process, wait_s: float) -> None:
    """SIGTERM (Locust then flushes its history and reports), SIGKILL if it lingers."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), timeout=wait_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
