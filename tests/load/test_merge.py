"""Merging a distributed run's history parts: order, unique clients, incomplete parts refused;
and the pure helpers of Locust's distributed mode (worker summaries, combined progress)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lbdemo.errors import UsageError
from lbdemo.history import OK, HistoryWriter, read_history, worker_history_path
from lbdemo.load.distributed import ProgressCombiner, check_workers, parse_worker_summary
from lbdemo.load.merge import WorkerPart, merge_worker_histories
from tests.utils import assert_demo_refused


def _op(client: str, n: int, invoke: float, *, write: bool = True) -> dict[str, object]:
    return {
        "client": client,
        "op": "write" if write else "read",
        "key": "p0",
        "write_id": f"r-{client}-{n}" if write else None,
        "price": n if write else None,
        "invoke": invoke,
        "complete": invoke + 0.25,
        "status": 200,
        "outcome": OK,
        "replica": "r1",
    }


def _part(history: Path, index: int, ops: list[dict[str, object]], **anchors: float) -> WorkerPart:
    path = worker_history_path(history, index)
    with HistoryWriter(path, "http://127.0.0.1:1", **anchors) as writer:  # type: ignore[arg-type]
        for op in ops:
            writer.record(**op)
    return WorkerPart(index, path, len(ops))


def test_parts_merge_in_invocation_order_into_one_history(tmp_path: Path) -> None:
    history = tmp_path / "run-history.jsonl"
    # Worker 1's first operation began before worker 0's: order is by time, not by part.
    w0 = _part(
        history,
        0,
        [_op("w0.u1", 1, 10.0), _op("w0.u1", 2, 11.0), _op("w0.u2", 1, 10.5)],
        wall_anchor=1000.0,
        mono_anchor=9.0,
    )
    w1 = _part(history, 1, [_op("w1.u1", 1, 9.5), _op("w1.u1", 2, 10.75, write=False)])
    merged = merge_worker_histories([w0, w1], history)

    assert [op.invoke for op in merged.ops] == [9.5, 10.0, 10.5, 10.75, 11.0]
    again = read_history(history)  # the file on disk is the same, and checker-valid
    assert again.ops == merged.ops
    header = json.loads(history.read_text().splitlines()[0])
    assert header["pid"] is None and header["mono_anchor"] == 9.0  # the first part's anchors
    assert [(p["worker"], p["file"], p["ops"]) for p in header["merged_from"]] == [
        (0, "run-history.w0.jsonl", 3),
        (1, "run-history.w1.jsonl", 2),
    ]


def test_a_client_in_two_parts_is_refused(tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    w0 = _part(history, 0, [_op("u1", 1, 1.0)])
    w1 = _part(history, 1, [_op("u1", 2, 5.0)])  # e.g. workers that number clients alike
    with pytest.raises(UsageError, match="client u1 appears in the histories of workers 0 and 1"):
        merge_worker_histories([w0, w1], history)
    assert not history.exists()


def test_a_write_id_in_two_parts_is_refused(tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    w0 = _part(history, 0, [_op("w0.u1", 1, 1.0)])
    clash = {**_op("w1.u1", 1, 2.0), "write_id": "r-w0.u1-1"}
    w1 = _part(history, 1, [clash])
    with pytest.raises(UsageError, match=r"write id r-w0\.u1-1 was written by workers 0 and 1"):
        merge_worker_histories([w0, w1], history)


def test_a_part_shorter_than_its_worker_said_is_incomplete(tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    w0 = _part(history, 0, [_op("w0.u1", 1, 1.0)])
    w1 = _part(history, 1, [_op("w1.u1", 1, 1.5), _op("w1.u1", 2, 2.0)])
    # The worker recorded three operations but only two reached the file (killed before a flush).
    short = WorkerPart(1, w1.path, 3)
    with pytest.raises(
        UsageError,
        match=r"worker 1 .*holds 2 operations but the worker "
        r"recorded 3; the history is incomplete",
    ):
        merge_worker_histories([w0, short], history)
    assert not history.exists()


def test_a_worker_without_summary_or_file_is_an_error_not_a_gap(tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    w0 = _part(history, 0, [_op("w0.u1", 1, 1.0)])
    silent = WorkerPart(0, w0.path, None)
    with pytest.raises(UsageError, match="reported no summary"):
        merge_worker_histories([silent], history)
    missing = WorkerPart(1, worker_history_path(history, 1), 4)
    with pytest.raises(UsageError, match=r"worker 1 \(.*h.w1.jsonl\): no history file"):
        merge_worker_histories([w0, missing], history)


def test_a_part_cut_mid_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    w0 = _part(history, 0, [_op("w0.u1", 1, 1.0), _op("w0.u1", 2, 2.0)])
    text = w0.path.read_text()
    w0.path.write_text(text[: len(text) - 40])  # the last line cut off, as by a crash
    with pytest.raises(UsageError, match=r"h.w0.jsonl:3: malformed history line"):
        merge_worker_histories([w0], history)


def test_parts_from_two_clocks_are_never_merged(tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    w0 = _part(history, 0, [_op("w0.u1", 1, 1.0)])
    w1 = _part(history, 1, [_op("w1.u1", 1, 1.0)])
    lines = w1.path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["boot_id"]  # recorded by the writer on Linux
    header["boot_id"] = "another-machine"
    w1.path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.raises(UsageError, match=r"different machines .*monotonic clocks do not compare"):
        merge_worker_histories([w0, w1], history)
    with pytest.raises(UsageError, match="different machines"):  # the checker's reader too
        read_history([w0.path, w1.path])


# ---- the distributed mode's pure parts ------------------------------------------------------


def test_worker_summaries_parse_and_other_lines_do_not() -> None:
    line = (
        'summary: {"worker": 1, "failures": 3, "stale_reads": 2, "ops_recorded": 40, '
        '"history_file": "h.w1.jsonl"}'
    )
    summary = parse_worker_summary(line)
    assert summary is not None and (summary.worker, summary.ops_recorded) == (1, 40)
    master = 'summary: {"role": "master", "requests": 5, "failures": 0, "rps": 1.0}'
    for other in (master, "summary: [1]", "summary: {", "progress: ops=1", None):
        assert parse_worker_summary(other) is None


def test_progress_is_combined_once_every_worker_has_spoken() -> None:
    emitted: list[str] = []
    combiner = ProgressCombiner(2, emitted.append)
    combiner.feed("progress: worker=0 elapsed=1.0s ops=100 ops_per_s=100 failures=1 stale_reads=1")
    combiner.feed("some log line")
    combiner.feed("progress: worker=0 elapsed=2.0s ops=210 ops_per_s=105 failures=2 stale_reads=1")
    assert emitted == []  # worker 1 has not reported yet
    combiner.feed("progress: worker=1 elapsed=1.9s ops=90 ops_per_s=47 failures=0 stale_reads=3")
    assert emitted == [
        "progress: elapsed=2.0s ops=300 ops_per_s=152 failures=2 stale_reads=4 workers=2"
    ]
    combiner.feed("progress: worker=1 elapsed=oops ops=1 ops_per_s=1 failures=0 stale_reads=0")
    assert len(emitted) == 1  # a garbled line changes nothing


@pytest.mark.parametrize("workers", [-1, 17])
def test_worker_counts_outside_0_to_16_are_refused(workers: int) -> None:
    with pytest.raises(UsageError, match="--workers must be between 0"):
        check_workers(workers)


@pytest.mark.parametrize(
    "args",
    [
        ["--workers", "17"],
        ["--workers", "-1"],
        ["--workers", "3", "--users", "2"],
        ["--workers", "two"],
    ],
)
def test_demo_refuses_bad_worker_counts_before_starting_anything(
    tmp_path: Path, args: list[str]
) -> None:
    assert_demo_refused(tmp_path, *args)
