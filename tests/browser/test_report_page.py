"""The HTML report and the compare page in headless Chromium, from a real run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("selenium", reason="browser tests skipped: selenium is not installed")

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from lbdemo.demo.replication import replay_lag_series
from lbdemo.report.html import render_report_html
from tests.browser.chromium import console_errors, screenshot_full_page, wait_ready
from tests.browser.conftest import Pages

pytestmark = pytest.mark.slow


def open_page(browser: Any, page: Path) -> dict[str, Any]:
    browser.set_window_size(1400, 1000)
    browser.get_log("browser")  # drop what an earlier page logged
    browser.get(page.as_uri())
    state = wait_ready(browser)
    assert state["error"] is None and state["ready"], state
    return state


def test_report_renders_its_charts_with_no_console_errors(
    browser: Any, pages: Pages, screenshots: Path | None
) -> None:
    run = pages.runs["private"]
    open_page(browser, run.page)
    assert console_errors(browser) == []
    assert browser.find_element(By.CSS_SELECTOR, ".verdict").text.lower() == "inconsistent"
    charts = browser.execute_script(
        "const c = LBDEMO.charts; return [c.rates, c.key, c.latency, c.replicas]"
        ".map(u => ({points: u.data[0].length, series: u.series.length}))"
    )
    buckets = len(run.report["series"]["t_s"])
    assert charts[0]["points"] == buckets and charts[2]["points"] == buckets
    # x, the latest acknowledged write, one series per replica
    assert charts[1]["series"] == 2 + len(run.audit.replicas)
    # The timeline canvas has something drawn on it, and anomalies are marked.
    painted = browser.execute_script(
        "const c = document.getElementById('timeline');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n"
    )
    assert painted > 1000
    assert browser.execute_script("return LBDEMO.anomalyCount") == sum(run.result.counts.values())
    if screenshots:
        screenshot_full_page(browser, str(screenshots / "report-private.png"))


def test_shared_run_reads_consistent_with_no_anomaly_marks(
    browser: Any, pages: Pages, screenshots: Path | None
) -> None:
    open_page(browser, pages.runs["shared"].page)
    assert console_errors(browser) == []
    assert browser.find_element(By.CSS_SELECTOR, ".verdict").text.lower() == "consistent"
    assert browser.execute_script("return LBDEMO.timeline.visibleMarks().length") == 0
    if screenshots:
        screenshot_full_page(browser, str(screenshots / "report-shared.png"))


def test_key_selector_changes_the_per_key_chart(browser: Any, pages: Pages) -> None:
    run = pages.runs["private"]
    open_page(browser, run.page)
    chart = browser.find_element(By.ID, "chart-key")
    select = Select(browser.find_element(By.ID, "key-select"))
    first = chart.get_attribute("data-key")
    other = next(
        o.get_attribute("value") for o in select.options if o.get_attribute("value") != first
    )
    select.select_by_value(other)
    assert chart.get_attribute("data-key") == other
    # The chart now holds exactly the values observed on that key: its ops that took effect
    # on a known replica, plus the final audit.
    observed = sum(
        1
        for op in run.history.ops
        if op.key == other and op.replica is not None and op.outcome == "ok"
    )
    assert int(chart.get_attribute("data-points")) == observed
    points = browser.execute_script("return LBDEMO.charts.key.data[0].length")
    assert points == observed + 1
    assert other in browser.find_element(By.ID, "key-summary").text
    assert console_errors(browser) == []


def test_hovering_an_anomaly_mark_says_it_in_plain_words(browser: Any, pages: Pages) -> None:
    run = pages.runs["private"]
    open_page(browser, run.page)
    sentences = {a.explanation for a in run.result.anomalies()}
    canvas = browser.find_element(By.ID, "timeline")
    mark = browser.execute_script(
        "const t = LBDEMO.timeline; const i = t.visibleMarks()[0];"
        "return Object.assign(t.markPoint(i), t.canvasSize(), {plain: t.tipText(i)})"
    )
    # Selenium offsets from the element's centre.
    dx = round(mark["x"] - mark["width"] / 2)
    dy = round(mark["y"] - mark["height"] / 2)
    ActionChains(browser).move_to_element_with_offset(canvas, dx, dy).perform()
    tip = browser.find_element(By.ID, "tl-tip")
    assert tip.is_displayed()
    shown = tip.text  # one WebDriver round trip, not one per sentence
    # Plain words for a room: what was read, what was answered, what had been written; no
    # write id or run tag (8 hex digits) in sight.
    assert shown == mark["plain"] and re.search(r"[0-9a-f]{8}", shown) is None, shown
    assert shown.startswith(("Stale read: ", "Read your own write failed: ", "Time went back"))
    assert (
        float(browser.execute_script("return getComputedStyle(arguments[0]).fontSize", tip)[:-2])
        >= 16
    )
    ActionChains(browser).click().perform()
    detail = browser.find_element(By.ID, "tl-detail")
    assert "anomaly" in (detail.get_attribute("class") or "")
    pinned = detail.text
    assert any(s in pinned for s in sentences), pinned
    assert console_errors(browser) == []


def test_next_anomaly_button_moves_the_window_to_an_anomaly(browser: Any, pages: Pages) -> None:
    open_page(browser, pages.runs["private"].page)
    browser.execute_script("LBDEMO.timeline.setWindow(0, 0.2)")
    before = browser.execute_script("return LBDEMO.timeline.view.pinned")
    browser.find_element(By.ID, "tl-next").click()
    after = browser.execute_script("return LBDEMO.timeline.view.pinned")
    assert after != before and after >= 0
    assert browser.find_element(By.ID, "tl-detail").text


def test_compare_page_renders_runs_on_the_same_scales(
    browser: Any, pages: Pages, screenshots: Path | None
) -> None:
    open_page(browser, pages.compare)
    assert console_errors(browser) == []
    scales = browser.execute_script(
        "const c = LBDEMO.charts; return ['rates', 'latency', 'replicas'].map("
        "k => c[k].map(u => [u.scales.x.max, u.scales.y.max]))"
    )
    for per_run in scales:
        assert len(per_run) == 2
        assert per_run[0] == per_run[1]  # same x and y range in every column
    callouts = browser.find_element(By.CSS_SELECTOR, ".callouts").text
    assert "Verdicts differ" in callouts and "Stale reads" in callouts
    if screenshots:
        screenshot_full_page(browser, str(screenshots / "compare.png"))


def test_a_replicated_run_gets_a_lag_chart_with_one_line_per_standby(
    browser: Any, pages: Pages, tmp_path: Path
) -> None:
    run = pages.runs["private"]
    # The private run's page plus the section a replicated run's report carries (its samples as
    # replay_lag_series makes them): the chart draws whatever section it is given.
    samples = [
        (run.history.t0 + t, name, lag)
        for t in (0.2, 0.4, 0.6)
        for name, lag in (("lbdemo_r1", 1.5), ("lbdemo_r2", None))
    ]
    series = replay_lag_series(samples, run.history.t0, ["lbdemo_r1", "lbdemo_r2"])
    report = {
        **run.report,
        "replication": {"synchronous": False, "apply_delay_ms": 0, "replay_lag_series": series},
    }
    page = tmp_path / "replicated.html"
    page.write_text(render_report_html(report, run.history, run.result, run.audit))
    open_page(browser, page)
    assert console_errors(browser) == []
    drawn = browser.execute_script(
        "const u = LBDEMO.charts.replication; return {x: u.data[0], lines: u.series.length,"
        " r1: u.data[1], shown: !document.getElementById('replication').hidden}"
    )
    assert drawn == {"x": [0.2, 0.4, 0.6], "lines": 3, "r1": [1.5, 1.5, 1.5], "shown": True}
    open_page(browser, run.page)  # a run without replication: no section shown
    assert browser.execute_script(
        "return [document.getElementById('replication').hidden, 'replication' in LBDEMO.charts]"
    ) == [True, False]


def test_anomaly_marks_show_at_the_default_zoom(browser: Any, pages: Pages) -> None:
    """Not one-pixel ticks: the canvas is red where each visible anomaly is, as the page opens."""
    open_page(browser, pages.runs["private"].page)
    colours = browser.execute_script(
        "const t = LBDEMO.timeline, c = document.getElementById('timeline');"
        "const ctx = c.getContext('2d'), dpr = c.width / t.canvasSize().width;"
        "return t.visibleMarks().slice(0, 40).map(i => { const p = t.markPoint(i);"
        " return Array.from(ctx.getImageData(Math.round(p.x * dpr), Math.round((p.y - 1) * dpr),"
        " 1, 1).data); })"
    )
    assert len(colours) >= 10, colours  # the private run has many, the view opens on them
    red = [c for c in colours if c[0] > 180 and c[1] < 90 and c[2] < 90]
    assert len(red) == len(colours), colours


def test_key_chart_covers_the_whole_run_from_the_key_of_most_anomalies(
    browser: Any, pages: Pages
) -> None:
    run = pages.runs["private"]
    open_page(browser, run.page)
    per_key: dict[str, int] = {}
    for a in run.result.anomalies():
        if a.ops:
            per_key[a.ops[0].key] = per_key.get(a.ops[0].key, 0) + 1
    most = max(per_key.values())
    select = Select(browser.find_element(By.ID, "key-select"))
    first = select.options[0]
    assert per_key[first.get_attribute("value")] == most
    assert select.first_selected_option.get_attribute("value") == first.get_attribute("value")
    # Readable: a fruit's name and the count, not the run's tag.
    assert re.fullmatch(r"[a-z]+( \d+)? · [\d,]+ anomal(y|ies)", first.text), first.text
    shown = browser.execute_script(
        "const u = LBDEMO.charts.key; return [u.scales.x.min, u.scales.x.max, u.data[0][0],"
        " u.data[0][u.data[0].length - 1]]"
    )
    x_min, x_max, first_point, last_point = shown
    assert x_min <= first_point and x_max >= last_point, shown
