"""The per-second series and the HTML pages, without a browser (tests/browser/ has one)."""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lbdemo.checker import Audit, check
from lbdemo.checker.anomalies import READ_KINDS
from lbdemo.errors import UsageError
from lbdemo.history import History, HistoryHeader, Op, read_history
from lbdemo.report import build_report
from lbdemo.report.html import (
    compare_rows,
    render_compare_html,
    render_report_html,
    report_data,
    run_settings,
)
from lbdemo.report.series import (
    MAX_BUCKETS,
    bucket_width,
    build_series,
)
from tests.report.reportkit import CLEAN, STALE, op, write_history

META = {
    "label": "private",
    "scenario": "consistency",
    "layout": {"name": "private", "storage": "private", "summary": "private"},
    "settings": {"replicas": 2, "users": 3, "duration_s": 1.0},
    "command": "lbdemo demo",
    "files": {"locust_html": "private-locust.html", "locust_csv": "private-locust_stats.csv"},
}
AUDIT = Audit(replicas={"r1": {"p1": "u1-1"}, "r2": {"p2": "u1-2"}}, rows={"r1": 1, "r2": 1})


def history_of(ops: list[Op]) -> History:
    return History(
        headers=[HistoryHeader(wall_anchor=1e9, mono_anchor=0.0)],
        ops=sorted(ops, key=lambda o: o.invoke),
    )


def many_stale_reads(seconds: int = 3, per_second: int = 5) -> list[Op]:
    """One write on r1 at t=0; then, each second, reads on r2 that never saw it (stale)."""
    ops = [op("w", "write", "p1", "w-1", 0.0, 0.01, "r1")]
    for s in range(seconds):
        for i in range(per_second):
            t = s + 0.1 + i * 0.1
            ops.append(op(f"u{i}", "read", "p1", None, t, t + 0.005, "r2"))
    return ops


def decode_page_data(page: str) -> dict[str, Any]:
    m = re.search(
        r'<script id="lbdemo-data" type="application/octet-stream">([^<]*)</script>', page
    )
    assert m, "the page has no data block"
    return json.loads(gzip.decompress(base64.b64decode(m.group(1))))


# ---------------------------------------------------------------------------------------------
# Series


def test_series_counts_operations_and_stale_reads_per_second() -> None:
    history = history_of(many_stale_reads(seconds=3, per_second=5))
    result = check(history)
    series = build_series(history, result)
    assert series["bucket_s"] == 1.0
    assert series["t_s"] == [0.0, 1.0, 2.0]
    # The run ends at 2.505 s: the last bucket is 0.505 s wide, and its rates count that.
    assert series["last_bucket_s"] == 0.505
    last = round(5 / 0.505, 3)
    assert series["reads_per_s"] == [5.0, 5.0, last]
    assert series["writes_per_s"] == [1.0, 0.0, 0.0]
    assert series["anomalies_per_s"]["stale_read"] == [5.0, 5.0, last]
    assert series["replica_requests_per_s"] == {"r1": [1.0, 0.0, 0.0], "r2": [5.0, 5.0, last]}
    assert series["latency_ms"]["p50"][1] == pytest.approx(5.0)


def test_series_counts_every_anomaly_even_beyond_the_checkers_sample() -> None:
    history = history_of(many_stale_reads(seconds=4, per_second=10))
    result = check(history, sample_limit=3)
    assert len(result.samples["stale_read"]) == 3 < result.counts["stale_read"] == 40
    series = build_series(history, result)
    widths = [1.0] * (len(series["t_s"]) - 1) + [series["last_bucket_s"]]
    assert sum(
        r * w for r, w in zip(series["anomalies_per_s"]["stale_read"], widths, strict=True)
    ) == pytest.approx(40, rel=1e-3)
    every = list(result.anomalies())
    offenders = list(result.offenders())
    for kind in READ_KINDS:
        assert sum(a.kind == kind for a in every) == result.counts[kind]
        assert sum(k == kind for k, _ in offenders) == result.counts[kind]
    assert Counter(offenders) == Counter((a.kind, a.ops[0]) for a in every)


def test_a_long_run_gets_wider_buckets_not_more() -> None:
    assert bucket_width(20.0) == 1.0
    assert bucket_width(3600.0) == 6.0
    ops = [op("u1", "read", "p1", None, float(t), t + 0.01, "r1") for t in range(0, 3600, 3)]
    series = build_series(history_of(ops), check(history_of(ops)))
    assert len(series["t_s"]) <= MAX_BUCKETS
    widths = [series["bucket_s"]] * (len(series["t_s"]) - 1) + [series["last_bucket_s"]]
    assert sum(r * w for r, w in zip(series["reads_per_s"], widths, strict=True)) == (
        pytest.approx(len(ops), rel=0.01)
    )


def test_series_of_an_empty_history_are_empty() -> None:
    history = history_of([])
    series = build_series(history, check(history))
    assert series["t_s"] == [] and series["reads_per_s"] == []


def test_series_of_a_twenty_second_run_are_a_few_kilobytes() -> None:
    ops = []
    for i in range(20 * 1000):  # 1,000 ops/s over 20 s on three replicas
        t = i / 1000
        ops.append(
            op(
                f"u{i % 20}",
                "read" if i % 3 else "write",
                f"p{i % 8}",
                None if i % 3 else f"w-{i}",
                t,
                t + 0.004,
                f"r{i % 3 + 1}",
            )
        )
    history = history_of(ops)
    series = build_series(history, check(history))
    assert len(json.dumps(series)) < 8_000


def test_build_report_carries_the_series(tmp_path: Path) -> None:
    history = read_history(write_history(tmp_path / "h.jsonl", STALE))
    report = build_report(check(history, AUDIT), history, AUDIT, META)
    assert report["series"]["reads_per_s"] and "stale_read" in report["series"]["anomalies_per_s"]
    json.dumps(report, allow_nan=False)


# ---------------------------------------------------------------------------------------------
# The report page


def page_for(
    ops: list[Op],
    tmp_path: Path,
    meta: dict[str, Any] | None = None,
    audit: Audit | None = AUDIT,
    **kw: Any,
) -> tuple[str, History]:
    history = read_history(write_history(tmp_path / "h.jsonl", ops))
    result = check(history, audit)
    report = build_report(result, history, audit, meta or META)
    return render_report_html(report, history, result, audit, **kw), history


def test_report_page_is_self_contained(tmp_path: Path) -> None:
    page, _ = page_for(STALE, tmp_path)
    assert page.startswith("<!doctype html>")
    assert not re.search(r"<script[^>]+src=", page), "a script loaded from elsewhere"
    assert not re.search(r"<link[^>]+stylesheet", page), "a stylesheet loaded from elsewhere"
    assert "uPlot" in page and 'data-verdict="inconsistent"' in page


def test_report_page_data_holds_every_operation_and_every_sentence(tmp_path: Path) -> None:
    page, history = page_for(STALE, tmp_path)
    data = decode_page_data(page)
    cols = data["ops"]
    assert len(cols["inv"]) == len(history.ops)
    # Times are delta-encoded in 10 µs units from the first invocation.
    assert sum(cols["inv"]) * data["time_unit_s"] == pytest.approx(
        history.ops[-1].invoke - history.t0
    )
    result = check(history, AUDIT)
    assert sorted(data["anomalies"]["text"]) == sorted(a.explanation for a in result.anomalies())
    stale = data["anomalies"]["op"][0]
    assert data["clients"][cols["cli"][stale]] == "u2" and cols["val"][stale] == -1
    assert data["audit"] == [["r1", "p1", "u1-1", 400], ["r2", "p2", "u1-2", 400]]
    assert data["default_key"] == "p1"  # the key with anomalies is shown first


def test_report_page_escapes_what_it_did_not_write(tmp_path: Path) -> None:
    meta = {
        **META,
        "label": "<script>alert(1)</script>",
        "files": {"locust_html": '"><img src=x onerror=alert(1)>'},
    }
    page, _ = page_for(CLEAN, tmp_path, meta=meta)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_page_links_locusts_files(tmp_path: Path) -> None:
    page, _ = page_for(CLEAN, tmp_path)
    assert 'href="private-locust.html"' in page and 'href="private-locust_stats.csv"' in page
    meta = {**META, "files": {"locust_html": str(tmp_path / "out" / "x-locust.html")}}
    page, _ = page_for(CLEAN, tmp_path, meta=meta, link_base=tmp_path / "out")
    assert 'href="x-locust.html"' in page


def test_report_page_shades_periods_and_ignores_malformed_ones(tmp_path: Path) -> None:
    meta = {
        **META,
        "periods": [
            {"label": "upgrade", "start_s": 0.1, "end_s": 0.2},
            {"label": "broken", "start_s": "soon"},
            "nonsense",
        ],
    }
    history = read_history(write_history(tmp_path / "h.jsonl", CLEAN))
    result = check(history)
    report = build_report(result, history, None, meta)
    data = report_data(report, history, result, None)
    assert data["periods"] == [{"label": "upgrade", "start_s": 0.1, "end_s": 0.2}]


def test_an_infinite_price_never_reaches_a_page_the_reader_refuses_it(tmp_path: Path) -> None:
    path = write_history(tmp_path / "h.jsonl", CLEAN)
    text = path.read_text().replace('"price":400', '"price":1e999', 1)
    assert "1e999" in text
    path.write_text(text)
    with pytest.raises(UsageError, match=r"h\.jsonl:2: malformed history line"):
        read_history(path)


def test_report_page_of_an_empty_history_renders(tmp_path: Path) -> None:
    history = history_of([])
    result = check(history)
    page = render_report_html(build_report(result, history), history, result)
    assert decode_page_data(page)["ops"]["inv"] == []


def test_report_page_stays_under_50_bytes_per_operation() -> None:
    # 50 bytes per operation keeps a 100,000-operation run under the 5 MB goal; the history is
    # private stores behind round robin, so a quarter of the operations are anomalies, each with
    # its sentence in the page (benchmarks/html_report.py measures 100,000 in a browser).
    import sys

    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    from check_speed import generate  # type: ignore[import-not-found]

    n = 30_000
    history = history_of(generate(n, replicas=3))
    result = check(history)
    assert sum(result.counts.values()) > n / 5
    page = render_report_html(build_report(result, history), history, result)
    assert len(page.encode()) < 50 * n


# ---------------------------------------------------------------------------------------------
# Settings and the compare page


def test_run_settings_show_the_layout_and_the_settings() -> None:
    report = {
        "run": {
            "label": "shared",
            "layout": {"name": "shared-volume", "summary": "one shared PostgreSQL"},
            "settings": {"replicas": 3, "users": 20, "strategy": "round-robin"},
        }
    }
    assert run_settings(report) == {
        "layout": "one shared PostgreSQL",
        "replicas": "3",
        "users": "20",
        "strategy": "round-robin",
    }
    assert run_settings({}) == {}


def two_reports(tmp_path: Path) -> list[dict[str, Any]]:
    stale = read_history(write_history(tmp_path / "a.jsonl", STALE))
    clean = read_history(write_history(tmp_path / "b.jsonl", CLEAN))
    shared_meta = {
        **META,
        "label": "shared",
        "layout": {"name": "shared", "storage": "shared", "summary": "shared"},
        "settings": {"replicas": 3, "users": 3, "duration_s": 1.0},
    }
    return [
        build_report(check(stale, AUDIT), stale, AUDIT, META),
        build_report(check(clean), clean, None, shared_meta),
    ]


def test_compare_page_calls_out_differences_and_settings(tmp_path: Path) -> None:
    reports = two_reports(tmp_path)
    page = render_compare_html(reports)
    assert "<h1>private vs shared</h1>" in page
    assert "Verdicts differ: private is inconsistent, shared is consistent." in page
    assert "Stale reads: private 1 (" in page
    assert '<tr class="differs" data-setting="replicas">' in page
    assert '<tr data-setting="users">' in page  # same value: not highlighted
    data = decode_page_data(page)
    assert [r["label"] for r in data["runs"]] == ["private", "shared"]
    assert all(r["series"]["t_s"] for r in data["runs"])


def test_compare_rows_ignore_small_differences_between_runs() -> None:
    a = {"ops_per_s": 1000.0, "verdict": "consistent", "anomalies": {"stale_read": {"count": 0}}}
    b = {"ops_per_s": 1050.0, "verdict": "consistent", "anomalies": {"stale_read": {"count": 3}}}
    rows = {label: differs for label, _, differs in compare_rows([a, b])}
    assert rows["throughput (ops/s)"] is False  # 5 %: noise between load runs
    assert rows["stale reads"] is True  # zero against some
    assert rows["verdict"] is False


def test_compare_page_needs_two_reports(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="at least two"):
        render_compare_html(two_reports(tmp_path)[:1])


def test_compare_page_tolerates_reports_without_series(tmp_path: Path) -> None:
    reports = two_reports(tmp_path)
    del reports[0]["series"]
    data = decode_page_data(render_compare_html(reports))
    assert data["runs"][0]["series"] is None
