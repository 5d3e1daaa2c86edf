"""The sweep page (``lbdemo sweep``'s sweep.html) in headless Chromium at 1280x720, from the
committed sweep: the chart with the model fits the first screen, nothing overflows sideways."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("selenium", reason="browser tests skipped: selenium is not installed")

from selenium.webdriver.common.by import By

from lbdemo.sweep.chart import render_sweep_html
from lbdemo.sweep.params import PARAMETERS
from tests.browser.chromium import console_errors

pytestmark = pytest.mark.slow
SWEEP = Path(__file__).resolve().parents[2] / "results" / "sweep" / "replicas" / "sweep.json"


def test_the_sweep_chart_fits_a_1280x720_screen_with_its_model(
    browser: Any, tmp_path: Path, screenshots: Path | None
) -> None:
    document = json.loads(SWEEP.read_text(encoding="utf-8"))
    first = PARAMETERS[document["vary"][0]["name"]]
    page = tmp_path / "sweep.html"
    page.write_text(render_sweep_html(document, first.numeric, first.axis), encoding="utf-8")
    browser.set_window_size(1280, 720)
    browser.get_log("browser")
    browser.get(page.as_uri())
    inner = browser.execute_script("return [window.innerWidth, window.innerHeight]")
    chart = browser.find_elements(By.CSS_SELECTOR, "svg.sweep-chart")[0]
    box = browser.execute_script("return arguments[0].getBoundingClientRect().toJSON()", chart)
    assert box["bottom"] <= inner[1], "the stale-read chart is on the first screen"
    assert browser.execute_script("return document.documentElement.scrollWidth") <= inner[0]
    points = len(document["points"])
    measured = chart.find_elements(By.CSS_SELECTOR, "polyline:not([stroke-dasharray])")
    modelled = chart.find_elements(By.CSS_SELECTOR, "polyline[stroke-dasharray]")
    assert len(measured) == len(modelled) == len(document["layouts"])
    assert len(chart.find_elements(By.TAG_NAME, "circle")) == 2 * points * len(measured)
    assert console_errors(browser) == []
    if screenshots is not None:
        browser.save_screenshot(str(screenshots / "sweep-replicas.png"))
