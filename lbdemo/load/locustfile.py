"""Locust workload that records every operation it performs, for the consistency checker.

    locust -f loadtests/consistency.py --headless -u 20 -r 20 -t 30s \\
        --host http://127.0.0.1:8080 --history-file history.jsonl

Each Locust user is one ``client`` of the history and issues one operation at a time, without
waiting between them unless given a think time (``--think-ms``): it writes unique values
(``write_id`` = ``<run prefix>-<client>-<seq>``) to a few product keys and reads keys back,
half of its reads of the key it last wrote (read-your-own-write) and half of a random key
(other users' writes). The history format is ``docs/history-format.md``; the workload is
described in ``docs/workload.md``.

A read this process can prove stale is also reported to Locust as a failure whose message starts
with ``stale read``, so the console, CSV and HTML show it live; the offline checker stays the
source of truth.

It ships inside the package (so an installed lbdemo runs it from anywhere); ``lbdemo`` runs this
file, and ``loadtests/consistency.py`` re-exports it for people who run Locust by hand.
Imports only the standard library, Locust (with its gevent and geventhttpclient), its sibling
modules ``oplog``, ``staleness`` and ``lines`` and ``lbdemo.history`` (standard library plus
msgspec): Locust monkey-patches the process with gevent, which must never meet lbdemo's asyncio
servers (``tests/load/test_locustfile.py`` checks what importing it loads).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import re
import secrets
import time
from pathlib import Path
from typing import Any

import gevent
import geventhttpclient.client
from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from lbdemo.load.lines import progress_line, summary_line
from lbdemo.load.oplog import (
    FAIL,
    OK,
    UNKNOWN,
    HistoryWriter,
    read_outcome,
    worker_history_path,
    write_outcome,
)
from lbdemo.load.staleness import StaleReadDetector

PUT_NAME = "PUT /products/[id]"
GET_NAME = "GET /products/[id]"
OWN_KEY_READ_SHARE = 0.5
_KEY_PREFIX_RE = re.compile(r"[A-Za-z0-9_-]+")


# ---- one operation, one attempt ----------------------------------------------------------


def _retry_only_reads(method: str) -> bool:
    return method.upper() in ("GET", "HEAD")


# geventhttpclient re-sends an idempotent request (PUT included) whose connection closed before
# the response, up to pool size + 1 times. A re-sent write can land after other clients' writes
# and make a correct store look inconsistent, and when the re-send meets a refused connection
# the write would be recorded as `fail` although the first attempt may have landed. So writes
# are sent exactly once; a cut connection makes them `unknown`. (Pinned by a test: if a new
# geventhttpclient renames this hook, the test that drops connections fails.)
geventhttpclient.client._may_retry_after_send_error = _retry_only_reads


# ---- command line -------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _key_prefix(text: str) -> str:
    if not _KEY_PREFIX_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"use letters, digits, '-' or '_' only: {text!r}")
    return text


def _history_file(text: str) -> str:
    parent = Path(text).parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"directory does not exist: {str(parent)!r}")
    return text


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    parser.add_argument(
        "--history-file",
        type=_history_file,
        default="history.jsonl",
        help="JSON Lines operation history to write (worker K writes <stem>.wK<suffix>)",
    )
    parser.add_argument("--keys", type=_positive_int, default=8, help="number of product keys")
    parser.add_argument(
        "--write-ratio", type=_ratio, default=0.3, help="share of operations that are writes"
    )
    parser.add_argument("--key-prefix", type=_key_prefix, default="p", help="product id prefix")
    parser.add_argument(
        "--think-ms",
        type=_non_negative_float,
        default=0.0,
        help="pause this many milliseconds between a user's operations (0: none)",
    )
    parser.add_argument(
        "--progress-interval",
        type=_non_negative_float,
        default=0.0,
        help="print a one-line progress summary every N seconds (0: never)",
    )


# ---- per-process run state ----------------------------------------------------------------


class Workload:
    """What the users of one Locust process share: settings, the history and the stale detector.

    In a distributed run (``--worker``) the run's settings arrive from the master with the
    first spawn message, after ``init``: so they are read at :meth:`start`, not before. Each
    worker writes its own part of the history (``<history>.w<index>.jsonl``, the index the
    master gave it) and prefixes its client ids with ``w<index>.``, so the parts merge into one
    history with no client in two of them (``lbdemo/load/merge.py``).
    """

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.worker_index: int | None = None
        self.keys: list[str] = []
        self.write_ratio = 0.0
        self.think_s = 0.0
        self.progress_interval = 0.0
        self.writer = HistoryWriter(os.devnull)  # replaced by start()
        self.detector = StaleReadDetector()
        self.failures = 0  # counted here: a worker's Locust stats are reset at each report
        self.prefix = ""
        self._client_numbers = itertools.count(1)
        self._progress: gevent.Greenlet | None = None
        self._started = 0.0

    def start(self) -> None:
        options = self.environment.parsed_options
        assert options is not None  # Locust always parses options before a test starts
        runner = self.environment.runner
        self.worker_index = runner.worker_index if isinstance(runner, WorkerRunner) else None
        self.keys = [f"{options.key_prefix}{i}" for i in range(options.keys)]
        self.write_ratio = options.write_ratio
        self.think_s = options.think_ms / 1000.0
        self.progress_interval = options.progress_interval
        path = Path(options.history_file)
        if self.worker_index is not None:
            path = worker_history_path(path, self.worker_index)
        self.writer = HistoryWriter(path, self.environment.host or "")
        # A fresh prefix per run, so write ids are never reused across runs or processes.
        self.prefix = secrets.token_hex(4)
        self.detector = StaleReadDetector()
        self.failures = 0
        self._client_numbers = itertools.count(1)
        self.writer.open()
        self._started = time.monotonic()
        if self.progress_interval > 0:
            self._progress = gevent.spawn(self._report_progress)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.kill(block=False)
            self._progress = None
        self.writer.close()

    def summary(self) -> dict[str, Any]:
        """The run's totals; ``lbdemo.load.run`` parses this from the ``summary:`` line.

        A worker's Locust stats go to the master (which prints the request totals), so a
        worker reports what only it knows: its index, its history and its live stale reads.
        """
        recorded = {
            "stale_reads": self.detector.stale_reads,
            "ops_recorded": self.writer.ops_recorded,
            "history_file": str(self.writer.path),
        }
        if self.worker_index is not None:
            return {"worker": self.worker_index, "failures": self.failures, **recorded}
        total = self.environment.stats.total
        return {
            "requests": total.num_requests,
            "failures": total.num_failures,
            "rps": round(total.total_rps, 1),
            **recorded,
        }

    def new_client_id(self) -> str:
        number = next(self._client_numbers)
        # Client ids must stay distinct when several workers' histories are merged.
        return f"u{number}" if self.worker_index is None else f"w{self.worker_index}.u{number}"

    def _report_progress(self) -> None:
        while True:
            gevent.sleep(self.progress_interval)
            elapsed = time.monotonic() - self._started
            ops = self.writer.ops_recorded
            worker = {} if self.worker_index is None else {"worker": str(self.worker_index)}
            fields = {
                **worker,
                "elapsed": f"{elapsed:.1f}s",
                "ops": str(ops),
                "ops_per_s": f"{ops / elapsed:.0f}",
                "failures": str(self.failures),
                "stale_reads": str(self.detector.stale_reads),
            }
            print(progress_line(fields), flush=True)


_workload: Workload | None = None
_master: Environment | None = None


@events.init.add_listener
def _on_init(environment: Environment, **_kwargs: Any) -> None:
    global _workload, _master
    # The master of a distributed run spawns no users, so it records nothing; it prints the
    # request totals the workers' stats add up to.
    if isinstance(environment.runner, MasterRunner):
        _master = environment
    else:
        _workload = Workload(environment)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    if _workload is not None:
        _workload.start()


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    if _workload is None:
        return
    _workload.stop()
    # Locust's CSV files lag up to a second behind; this line has the exact final totals
    # (a worker's: what it recorded; lbdemo checks its history file against it).
    print(summary_line(_workload.summary()), flush=True)


@events.request.add_listener
def _on_request(exception: BaseException | None = None, **_kwargs: Any) -> None:
    if _workload is not None and exception is not None:
        _workload.failures += 1


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_kwargs: Any) -> None:
    if _workload is not None:
        _workload.stop()


@events.quit.add_listener
def _on_quit(exit_code: int, **_kwargs: Any) -> None:
    # Fired after the master waited for the workers' final stats, so these totals are whole.
    if _master is not None:
        total = _master.stats.total
        totals = {
            "role": "master",
            "requests": total.num_requests,
            "failures": total.num_failures,
            "rps": round(total.total_rps, 1),
            "exit_code": exit_code,
        }
        print(summary_line(totals), flush=True)


# ---- the user -----------------------------------------------------------------------------


def _replica(response: Any) -> str | None:
    headers = response.headers
    if not headers:
        return None
    value = headers.get("X-Replica")
    return str(value) if value is not None else None


def _body_complete(response: Any) -> bool:
    """False when the status line arrived but reading the body failed (connection cut)."""
    exc = response.request_meta.get("exception")
    return exc is None or getattr(exc, "code", None) == response.status_code


CLIENT_HEADER = "X-Client-Id"


class ProductUser(FastHttpUser):
    """One client: writes unique values and reads them back, one operation at a time."""

    # Bounded, so a hung balancer turns into `unknown` writes instead of a stalled run.
    network_timeout = 10.0
    connection_timeout = 5.0
    # One operation at a time per user, so one connection is all it needs.
    concurrency = 1

    def on_start(self) -> None:
        assert _workload is not None
        self.workload = _workload
        self.client_id = self.workload.new_client_id()
        # Names the client to a balancer with the sticky strategy (ignored by the others).
        self.identity = {CLIENT_HEADER: self.client_id}
        self.seq = 0
        self.last_written_key: str | None = None

    def wait_time(self) -> float:
        # No pause by default: the run measures what the stack does when pushed. A think time
        # (--think-ms) bounds each user's rate, for the same checks on less CPU.
        return self.workload.think_s

    @task
    def one_operation(self) -> None:
        workload = self.workload
        if random.random() < workload.write_ratio:
            self.write(random.choice(workload.keys))
        elif self.last_written_key is not None and random.random() < OWN_KEY_READ_SHARE:
            self.read(self.last_written_key)
        else:
            self.read(random.choice(workload.keys))

    def write(self, key: str) -> None:
        workload = self.workload
        self.seq += 1
        write_id = f"{workload.prefix}-{self.client_id}-{self.seq}"
        price = random.randrange(1_000_000)
        self.last_written_key = key
        invoke = time.monotonic()
        try:
            with self.client.request(
                "PUT",
                f"/products/{key}",
                name=PUT_NAME,
                json={"price": price, "write_id": write_id},
                headers=self.identity,
                catch_response=True,
            ) as response:
                complete = time.monotonic()
                status = response.status_code or None
                outcome = write_outcome(
                    status, getattr(response, "error", None), _body_complete(response)
                )
                if outcome == OK:
                    # Before anything that could yield, so acknowledgements enter the
                    # detector in completion order.
                    workload.detector.write_acknowledged(key, write_id, invoke, complete)
                    response.success()
                elif status is not None and 200 <= status < 300:
                    response.failure("write acknowledged but the response was cut off")
        except gevent.GreenletExit:
            # The run stopped mid-request: the write may have reached a replica, and a read
            # may have seen it, so it must be in the history, as `unknown`.
            workload.writer.record(
                client=self.client_id,
                op="write",
                key=key,
                write_id=write_id,
                price=price,
                invoke=invoke,
                complete=time.monotonic(),
                status=None,
                outcome=UNKNOWN,
                replica=None,
            )
            raise
        workload.writer.record(
            client=self.client_id,
            op="write",
            key=key,
            write_id=write_id,
            price=price,
            invoke=invoke,
            complete=complete,
            status=status,
            outcome=outcome,
            replica=_replica(response),
        )

    def read(self, key: str) -> None:
        workload = self.workload
        invoke = time.monotonic()
        with self.client.request(
            "GET", f"/products/{key}", name=GET_NAME, headers=self.identity, catch_response=True
        ) as response:
            complete = time.monotonic()
            status = response.status_code or None
            outcome = read_outcome(status, _body_complete(response))
            write_id: str | None = None
            price: int | None = None
            if outcome == OK and status == 200:
                try:
                    row = json.loads(response.content or b"")
                    write_id, price = str(row["write_id"]), row["price"]
                except (ValueError, KeyError, TypeError):
                    outcome = FAIL
                    response.failure("read returned a body without write_id and price")
            if outcome == OK:
                reason = workload.detector.check_read(key, write_id, invoke)
                if reason is None:
                    response.success()  # a 404 is an answer ("not found"), not an error
                else:
                    response.failure(f"stale read: {reason}")
        workload.writer.record(
            client=self.client_id,
            op="read",
            key=key,
            write_id=write_id,
            price=price,
            invoke=invoke,
            complete=complete,
            status=status,
            outcome=outcome,
            replica=_replica(response),
        )
