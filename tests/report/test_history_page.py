"""The page of any history says what that history lacks, and only that (the browser test,
tests/browser/test_history_page.py, shows it rendered)."""

from __future__ import annotations

from pathlib import Path

from lbdemo.checker import check, load_audit
from lbdemo.history import read_history
from lbdemo.interop.formats import load
from lbdemo.report import build_report
from lbdemo.report.history_page import lacks, render_history_html

ROOT = Path(__file__).resolve().parents[2]
KNOSSOS = ROOT / "tests/data/interop/knossos/bad/bad-analysis.edn"
RUN = ROOT / "results/interop"


def test_a_knossos_history_lacks_times_audit_replicas_and_locust() -> None:
    history = load([str(KNOSSOS)], "jepsen")
    result = check(history, None)
    report = build_report(result, history, None, {"label": "bad-analysis"})
    assert set(lacks(report, history, None)) == {"times", "audit", "replicas", "locust"}
    page = render_history_html(report, history, result, None)
    assert page.count("data-lacks=") == 4
    assert 'id="chart-replicas" class="chart" hidden' in page
    assert '<div id="chart-key" class="chart"></div><p class="lacks"' in page


def test_a_run_with_its_audit_lacks_only_the_locust_files_it_was_not_given() -> None:
    history = read_history(RUN / "private-history.jsonl")
    audit = load_audit(RUN / "private-audit.json")
    result = check(history, audit)
    report = build_report(result, history, audit, {"label": "private"})
    assert set(lacks(report, history, audit)) == {"locust"}
    with_files = {"label": "private", "files": {"locust_html": "private-locust.html"}}
    report = build_report(result, history, audit, with_files)
    assert lacks(report, history, audit) == {}
    page = render_history_html(report, history, result, audit)
    assert "data-lacks" not in page and 'id="chart-replicas" class="chart"></div>' in page
