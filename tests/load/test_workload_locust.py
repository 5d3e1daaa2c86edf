"""The real Locust workload, run as a child process against a fake product API on 127.0.0.1.

Each run lasts about two seconds; the fake lives in the test's event loop, so the child's
requests are real HTTP over real sockets.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from lbdemo.history import History, Op, read_history
from lbdemo.load.run import LocustRun, find_locustfile, run_locust, run_process
from tests.load.products_fake import DROP, FakeProducts
from tests.utils import refused_port

OP_FIELDS = {
    "type",
    "client",
    "op",
    "key",
    "write_id",
    "price",
    "invoke",
    "complete",
    "status",
    "outcome",
    "replica",
}


async def _run(host: str, tmp_path: Path, **kwargs: object) -> LocustRun:
    options: dict = {"users": 4, "spawn_rate": 100, "duration_s": 2, **kwargs}
    return await run_locust(
        host, tmp_path / "history.jsonl", csv_prefix=tmp_path / "locust", grace_s=15, **options
    )


def _ops(history: History, **match: object) -> list[Op]:
    """The operations matching ``match``, without writes cut off by the end of the run.

    Locust stops its users mid-request; such a write is recorded as ``unknown`` with no
    status (it may have landed), and is always its client's last operation.
    """
    last = {op.client: op for op in history.ops}
    return [
        op
        for op in history.ops
        if all(getattr(op, k) == v for k, v in match.items())
        and not (last[op.client] is op and op.status is None and op.outcome == "unknown")
    ]


async def test_consistent_store_gives_a_complete_history_and_no_stale_reads(
    tmp_path: Path,
) -> None:
    async with FakeProducts(replicas=1) as fake:
        run = await _run(fake.url, tmp_path)

    assert run.exit_code == 0 and not run.crashed
    lines = [json.loads(line) for line in run.history_file.read_text().splitlines()]
    header, ops = lines[0], lines[1:]
    assert header["type"] == "header" and header["format"] == "lbdemo-history/1"
    assert {"wall_anchor", "mono_anchor", "pid", "host"} <= header.keys()
    assert all(set(op) == OP_FIELDS for op in ops)

    # The checker's own reader accepts it: fields typed, write ids unique, invoke <= complete.
    history = read_history(run.history_file)
    writes, reads = _ops(history, op="write"), _ops(history, op="read")
    assert writes and reads
    assert all(op.outcome == "ok" and op.replica == "r1" for op in _ops(history))
    interrupted = set(history.ops) - set(_ops(history))
    assert all(op.op == "write" for op in interrupted)
    assert {op.status for op in reads} <= {200, 404}
    assert {op.key for op in history.ops} <= {f"p{i}" for i in range(8)}
    # Every value read was written by some client of this run.
    written = {op.write_id for op in writes}
    assert {op.write_id for op in reads if op.write_id is not None} <= written
    # One op at a time per client: a client's operations never overlap.
    by_client: dict[str, list] = {}
    for op in history.ops:
        by_client.setdefault(op.client, []).append(op)
    assert len(by_client) == 4
    for client_ops in by_client.values():
        assert all(a.complete <= b.invoke for a, b in itertools.pairwise(client_ops))

    assert run.stats is not None and run.stats.stale_reads == 0
    # Locust counts what completed; at most one request per user was cut off at the end.
    served = fake.requests.total()
    assert served - 4 <= run.stats.requests <= served
    assert run.stats.ops_recorded == len(history.ops)
    assert "stale read" not in Path(f"{tmp_path / 'locust'}_failures.csv").read_text()


async def test_diverging_replicas_show_up_as_stale_read_failures_in_locust(
    tmp_path: Path,
) -> None:
    html = tmp_path / "report.html"
    async with FakeProducts(replicas=2) as fake:
        # Locust rewrites its CSV files once a second and not at the end: three seconds, so
        # that stale reads found after a slow start still reach failures.csv.
        run = await _run(fake.url, tmp_path, html=html, duration_s=3)

    # Exit status 1 is Locust saying "requests failed": findings, not a crash.
    assert run.exit_code == 1 and run.had_failures and not run.crashed
    assert run.stats is not None and run.stats.stale_reads > 0
    assert "stale read" in Path(f"{tmp_path / 'locust'}_failures.csv").read_text()
    assert "stale read" in html.read_text()
    history = read_history(run.history_file)
    assert {op.replica for op in _ops(history)} == {"r1", "r2"}


async def test_failing_balancer_answers_are_recorded_with_their_outcomes(tmp_path: Path) -> None:
    faults: dict[tuple[str, str], int | str] = {
        ("PUT", "p0"): 502,
        ("PUT", "p1"): 503,
        ("PUT", "p2"): DROP,
        ("PUT", "p3"): 400,
        ("GET", "p4"): 504,
    }
    async with FakeProducts(replicas=1, faults=faults) as fake:
        run = await _run(fake.url, tmp_path, keys=6, write_ratio=0.5)

    assert not run.crashed
    history = read_history(run.history_file)

    def outcomes(op: str, key: str) -> set[tuple[int | None, str, str | None]]:
        return {(o.status, o.outcome, o.replica) for o in _ops(history, op=op, key=key)}

    assert outcomes("write", "p0") == {(502, "unknown", None)}
    assert outcomes("write", "p1") == {(503, "fail", None)}
    assert outcomes("write", "p2") == {(None, "unknown", None)}
    assert outcomes("write", "p3") == {(400, "fail", None)}
    assert outcomes("read", "p4") == {(504, "fail", None)}
    assert {o.outcome for o in _ops(history, op="write", key="p5")} == {"ok"}
    # A write whose connection dropped is not re-sent behind the history's back.
    # (A write cut off by the end of the run may or may not have been sent.)
    recorded = [op for op in history.ops if op.op == "write" and op.key == "p2"]
    assert len(_ops(history, op="write", key="p2")) <= fake.requests["PUT", "p2"] <= len(recorded)


async def test_refused_connections_make_writes_fail(tmp_path: Path) -> None:
    with refused_port() as port:
        run = await _run(f"http://127.0.0.1:{port}", tmp_path, users=1)

    assert run.exit_code == 1 and not run.crashed
    history = read_history(run.history_file)
    assert history.ops
    assert {(op.status, op.outcome) for op in _ops(history)} == {(None, "fail")}


async def test_a_think_time_spaces_each_users_operations_by_at_least_that_long(
    tmp_path: Path,
) -> None:
    async with FakeProducts(replicas=1) as fake:
        run = await _run(fake.url, tmp_path, users=2, think_ms=250)

    assert run.exit_code == 0 and not run.crashed
    history = read_history(run.history_file)
    by_client: dict[str, list[Op]] = {}
    for op in history.ops:
        by_client.setdefault(op.client, []).append(op)
    assert len(by_client) == 2
    for ops in by_client.values():
        # 2 s at one operation per 250 ms at most (without the pause: hundreds)
        assert 2 <= len(ops) <= 9, len(ops)
        gaps = [b.invoke - a.complete for a, b in itertools.pairwise(ops)]
        assert min(gaps) >= 0.24, gaps


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--keys", "0"], "at least 1"),
        (["--think-ms", "-1"], "must not be negative"),
        (["--think-ms", "inf"], "not a finite number"),
    ],
)
def test_locustfile_rejects_bad_options_with_status_2_and_writes_nothing(
    tmp_path: Path, option: list[str], message: str
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(find_locustfile()),
            "--headless",
            "-u",
            "1",
            "-t",
            "1s",
            "--host",
            "http://127.0.0.1:9",
            *option,
            "--history-file",
            str(tmp_path / "h.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert option[0] in result.stderr and message in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
async def test_worker_processes_write_one_history_each_that_merge_cleanly(tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(find_locustfile()),
        "--headless",
        "--only-summary",
        "--processes",
        "2",
        "-u",
        "4",
        "-r",
        "100",
        "-t",
        "2s",
        "--history-file",
        str(tmp_path / "history.jsonl"),
    ]
    async with FakeProducts(replicas=1) as fake:
        result = await run_process([*argv, "--host", fake.url], deadline_s=30)

    assert result.exit_code == 0
    files = sorted(tmp_path.glob("history.*.jsonl"))
    assert len(files) == 2 and not (tmp_path / "history.jsonl").exists()
    history = read_history(files)  # rejects a write id used twice across the files
    clients = Counter(op.client.split(".")[0] for op in history.ops)
    assert len(clients) == 2  # client ids carry their process, so they never collide
