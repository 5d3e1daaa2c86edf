"""The bench's plumbing, without nginx/HAProxy/wrk: parsing, the built-in generator, reports."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from lbdemo import cli
from lbdemo.bench.loadgen import LoadResult, parse_wrk, run_builtin
from lbdemo.bench.replica import create_app
from lbdemo.bench.runner import (
    BenchConfig,
    Target,
    _report,
    _Round,
    render_markdown,
    write_report,
)

WRK_SAMPLE = """Running 5s test @ http://127.0.0.1:8080/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.81ms    1.72ms  38.41ms   91.30%
    Req/Sec    11.88k     1.83k   14.93k    80.00%
  Latency Distribution
     50%  812.00us
     75%    2.94ms
     90%    3.88ms
     99%    1.02s
  59123 requests in 5.01s, 5.83MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  11823.35
Transfer/sec:      1.94MB
"""


def test_wrk_output_is_parsed_with_units_and_errors() -> None:
    result = parse_wrk(WRK_SAMPLE)
    assert result == LoadResult(rps=11823.35, p50_ms=0.812, p99_ms=1020.0, requests=59123, errors=7)


def test_wrk_output_without_latency_distribution_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_wrk("Requests/sec: 10\n")


@pytest_asyncio.fixture
async def bench_replica() -> AsyncIterator[int]:
    runner = web.AppRunner(create_app("r1"), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def test_builtin_generator_measures_a_replica(bench_replica: int) -> None:
    result = await run_builtin([("127.0.0.1", bench_replica)], duration=0.5, connections=4)
    assert result.errors == 0
    assert result.requests > 10 and result.rps > 10
    assert 0 < result.p50_ms <= result.p99_ms


def _round(rps: float, p99: float, loadavg: float = 0.5) -> _Round:
    result = LoadResult(rps=rps, p50_ms=p99 / 2, p99_ms=p99, requests=int(rps), errors=0)
    return _Round(result, loadavg)


def test_report_gives_ratios_to_nginx_and_is_written_as_json_and_markdown(
    tmp_path: Path,
) -> None:
    targets = [
        Target("lbdemo", [], [_round(1100, 4.0, 1.5), _round(900, 6.0), _round(1000, 5.0)]),
        Target("nginx", [], [_round(1000, 5.0)] * 3),
    ]
    notes = ["haproxy not installed: skipped"]
    config = BenchConfig(rounds=3, command="lbdemo bench --rounds 3")
    report = _report(config, targets, notes, True, loadavg_1m_before=2.25)
    assert report["format"] == "lbdemo-bench/1"
    assert report["results"]["lbdemo"]["rps"] == 1000.0
    assert [r["loadavg_1m"] for r in report["results"]["lbdemo"]["rounds"]] == [1.5, 0.5, 0.5]
    # Ratio of medians 1.0; per-round ratios 1.1, 0.9, 1.0 and 0.8, 1.2, 1.0: medians 1.0 too.
    assert report["ratios_to_nginx"]["lbdemo"] == {
        "rps": 1.0,
        "p99": 1.0,
        "rps_paired": 1.0,
        "p99_paired": 1.0,
    }
    write_report(report, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "bench.json").read_text()) == report
    markdown = (tmp_path / "out" / "bench.md").read_text()
    assert "| lbdemo | 1000 |" in markdown and "haproxy not installed" in markdown
    assert "nproc" not in markdown and "CPUs (1-min load average 2.25 before" in markdown
    assert "lbdemo: 1100, 900, 1000" in markdown
    assert "None" not in markdown  # a tool that is not installed is left out, not named None


def test_paired_ratio_compares_rounds_measured_together() -> None:
    # Round 2 was slow for nginx, round 3 for lbdemo: the medians hide it, the pairs do not.
    targets = [
        Target("lbdemo", [], [_round(1000, 4.0), _round(2000, 4.0), _round(3000, 4.0)]),
        Target("nginx", [], [_round(900, 5.0), _round(2500, 5.0), _round(2000, 5.0)]),
    ]
    report = _report(BenchConfig(rounds=3), targets, [], True, loadavg_1m_before=0.5)
    ratios = report["ratios_to_nginx"]["lbdemo"]
    assert ratios["rps"] == 1.0
    assert ratios["rps_paired"] == 1.111  # median of 1.111, 0.8, 1.5
    assert ratios["p99_paired"] == 0.8
    assert "| 1.111 |" in render_markdown(report)


async def test_builtin_generator_counts_a_malformed_response_as_an_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        result = await run_builtin([("127.0.0.1", port)], duration=0.3, connections=2)
    finally:
        server.close()
        await server.wait_closed()
    assert result.errors == 2 and result.requests == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--duration", "nan"],
        ["--duration", "inf"],
        ["--duration", "0"],
        ["--warmup", "nan"],
        ["--warmup", "-1"],
        ["--rounds", "0"],
        ["--connections", "0"],
        ["--connections", "100000"],
    ],
)
def test_bad_bench_options_are_one_line_and_status_2_before_anything_starts(
    args: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    def must_not_run(*_: object, **__: object) -> dict[str, object]:
        raise AssertionError("the bench started")

    monkeypatch.setattr("lbdemo.bench.runner.run", must_not_run)
    assert cli.main(["bench", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lbdemo: error: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_an_out_directory_that_cannot_be_made_fails_before_the_bench_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("")
    began = time.monotonic()
    assert cli.main(["bench", "--out", str(tmp_path / "file" / "out")]) == 2
    assert time.monotonic() - began < 5  # not after starting replicas and measuring
    assert capsys.readouterr().err.count("\n") == 1
