"""The workload's pure parts: outcome rules, the history writer, the live stale-read detector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lbdemo.history import read_history
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

# ---- outcomes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (200, None, OK),
        (201, None, OK),
        (400, None, FAIL),
        (503, None, FAIL),  # the balancer had no replica to try
        (502, None, UNKNOWN),  # forwarded, then the replica failed: maybe applied
        (504, None, UNKNOWN),
        (500, None, UNKNOWN),
        (None, ConnectionRefusedError(111, "refused"), FAIL),
        (None, TimeoutError("timed out"), UNKNOWN),
        (None, ConnectionResetError(104, "reset"), UNKNOWN),
    ],
)
def test_write_outcome_is_fail_only_when_the_write_certainly_did_not_happen(
    status: int | None, error: BaseException | None, expected: str
) -> None:
    assert write_outcome(status, error) == expected


def test_write_acknowledged_but_cut_off_mid_body_is_unknown() -> None:
    assert write_outcome(200, None, body_complete=False) == UNKNOWN


@pytest.mark.parametrize(
    ("status", "expected"), [(200, OK), (404, OK), (502, FAIL), (503, FAIL), (None, FAIL)]
)
def test_read_outcome_is_ok_for_a_value_or_not_found(status: int | None, expected: str) -> None:
    assert read_outcome(status) == expected


# ---- history file -------------------------------------------------------------------------


def test_a_workers_part_is_named_by_its_index_before_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / "run-history.jsonl"
    assert worker_history_path(path, 3) == tmp_path / "run-history.w3.jsonl"


def _record(writer: HistoryWriter, n: int) -> None:
    for i in range(n):
        writer.record(
            client="u1",
            op="write",
            key="p0",
            write_id=f"x-u1-{i}",
            price=i,
            invoke=float(i),
            complete=i + 0.5,
            status=200,
            outcome=OK,
            replica="r1",
        )


def test_history_writer_buffers_until_flush_and_the_checker_reads_the_result(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.jsonl"
    writer = HistoryWriter(path, "http://127.0.0.1:1", flush_lines=100, flush_interval_s=3600)
    writer.open()
    _record(writer, 3)
    assert len(path.read_text().splitlines()) == 1  # only the header so far
    writer.close()
    history = read_history(path)
    assert [op.write_id for op in history.ops] == ["x-u1-0", "x-u1-1", "x-u1-2"]
    assert history.headers[0].host == "http://127.0.0.1:1"


def test_history_writer_flushes_by_itself_when_the_buffer_fills(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    writer = HistoryWriter(path, "h", flush_lines=2, flush_interval_s=3600)
    writer.open()
    _record(writer, 2)
    assert len(path.read_text().splitlines()) == 3
    writer.close()


def test_history_writer_starts_a_new_file_on_each_open(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    writer = HistoryWriter(path, "h")
    writer.open()
    _record(writer, 2)
    writer.open()
    writer.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["type"] == "header"


# ---- live stale-read detection ------------------------------------------------------------


def test_read_of_an_overwritten_value_after_the_overwrite_completed_is_stale() -> None:
    d = StaleReadDetector()
    d.write_acknowledged("p0", "a", invoke=1.0, complete=2.0)
    d.write_acknowledged("p0", "b", invoke=3.0, complete=4.0)
    assert d.check_read("p0", "a", invoke=5.0) is not None
    assert d.stale_reads == 1


def test_read_concurrent_with_the_overwrite_is_not_stale() -> None:
    d = StaleReadDetector()
    d.write_acknowledged("p0", "a", invoke=1.0, complete=2.0)
    d.write_acknowledged("p0", "b", invoke=3.0, complete=4.0)
    assert d.check_read("p0", "a", invoke=3.5) is None  # b had not completed yet


def test_read_of_a_write_concurrent_with_the_newest_is_not_stale() -> None:
    d = StaleReadDetector()
    d.write_acknowledged("p0", "a", invoke=1.0, complete=3.5)
    d.write_acknowledged("p0", "b", invoke=3.0, complete=4.0)
    assert d.check_read("p0", "a", invoke=5.0) is None  # a and b overlap: either may be last


def test_not_found_after_an_acknowledged_write_is_stale_and_before_it_is_not() -> None:
    d = StaleReadDetector()
    d.write_acknowledged("p0", "a", invoke=1.0, complete=2.0)
    assert d.check_read("p0", None, invoke=1.5) is None
    assert d.check_read("p0", None, invoke=2.5) is not None
    assert d.check_read("p1", None, invoke=2.5) is None  # other key, never written


def test_values_written_elsewhere_are_never_judged() -> None:
    d = StaleReadDetector()
    d.write_acknowledged("p0", "a", invoke=1.0, complete=2.0)
    assert d.check_read("p0", "written-by-another-process", invoke=9.0) is None


def test_detector_stays_sound_after_pruning_old_writes() -> None:
    d = StaleReadDetector(writes_per_key=2)
    for i in range(10):
        d.write_acknowledged("p0", f"w{i}", invoke=2.0 * i, complete=2.0 * i + 1)
    # w0..w7 were folded into the summary; w9 (invoke 18) still overwrites w8 (complete 17).
    assert d.check_read("p0", "w8", invoke=20.0) is not None
    assert d.check_read("p0", "w9", invoke=20.0) is None
    assert d.check_read("p0", None, invoke=2.0) is not None  # w0 completed at 1.0
