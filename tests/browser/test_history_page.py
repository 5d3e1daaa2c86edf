"""The HTML report of a history written by hand (no audit, no replica names, no Locust files),
made by ``lbdemo check --history H --html FILE``, in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("selenium", reason="browser tests skipped: selenium is not installed")

from selenium.webdriver.common.by import By

from lbdemo.cli import main
from tests.browser.chromium import console_errors, wait_ready

pytestmark = pytest.mark.slow


def _op(client: str, op: str, key: str, wid: str | None, price: int | None, t: float) -> str:
    line = {
        "type": "op",
        "client": client,
        "op": op,
        "key": key,
        "write_id": wid,
        "price": price,
        "invoke": t,
        "complete": t + 0.05,
        "status": 200 if wid is not None or op == "write" else 404,
        "outcome": "ok",
        "replica": None,
    }
    return json.dumps(line)


def hand_written_history(path: Path) -> None:
    """Two clients, two keys, over three seconds; c2 reads p1's first price after c1's second
    write was acknowledged: one stale read."""
    lines = [json.dumps({"type": "header", "format": "lbdemo-history/1", "wall_anchor": 1.8e9,
                         "mono_anchor": 0.0, "pid": None, "host": None})]  # fmt: skip
    t = 0.0
    for i in range(30):
        key = f"p{i % 2 + 1}"
        lines.append(_op("c1", "write", key, f"c1-{i}", 100 + i, t))
        lines.append(_op("c2", "read", key, f"c1-{i}", 100 + i, t + 0.06))
        t += 0.1
    lines.append(_op("c2", "read", "p1", "c1-0", 100, t + 0.2))  # stale: c1-28 came later
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_hand_written_history_gets_a_page_with_its_charts_and_says_what_it_lacks(
    browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "by-hand.jsonl"
    hand_written_history(history)
    page = tmp_path / "out" / "by-hand.html"
    page.parent.mkdir()
    assert main(["check", "--history", str(history), "--html", str(page)]) == 0
    assert "INCONSISTENT" in capsys.readouterr().out

    browser.set_window_size(1400, 1000)
    browser.get_log("browser")
    browser.get(page.as_uri())
    state = wait_ready(browser)
    assert state["error"] is None and state["ready"], state
    assert console_errors(browser) == []
    assert browser.find_element(By.CSS_SELECTOR, ".verdict").text.lower() == "inconsistent"

    # What it lacks is said, each once, in the header.
    lacks = browser.find_elements(By.CSS_SELECTOR, "#lacks li")
    assert {e.get_attribute("data-lacks") for e in lacks} == {"audit", "replicas", "locust"}
    # The charts that can be drawn are drawn, with the history's figures.
    charts = browser.execute_script(
        "const c = LBDEMO.charts; return {rates: c.rates.data[0].length,"
        " key: c.key.data[0].length, keySeries: c.key.series.length}"
    )
    assert charts["rates"] >= 3  # one bucket per second of a three-second history
    # Every observed value of the default key (p1: 15 writes, 15 reads and the stale read), in
    # the one series of unnamed replicas, and no final-audit point.
    assert charts["key"] == 31 and charts["keySeries"] == 3
    # The per-replica chart is not shown empty: it is hidden and a sentence says why.
    assert not browser.find_element(By.ID, "chart-replicas").is_displayed()
    said = browser.find_element(By.CSS_SELECTOR, '[data-lacks-chart="chart-replicas"]')
    assert said.is_displayed() and "names no replica" in said.text
    assert browser.execute_script("return LBDEMO.anomalyCount") >= 1
    painted = browser.execute_script(
        "const c = document.getElementById('timeline');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n"
    )
    assert painted > 1000


def test_an_imported_knossos_history_gets_its_page_too(browser: Any, tmp_path: Path) -> None:
    # Nine operations without :time (positions stand for seconds), one register, no replicas.
    knossos = Path(__file__).resolve().parents[1] / "data/interop/knossos/bad/bad-analysis.edn"
    page = tmp_path / "bad-analysis.html"
    assert main(["check", "--history", str(knossos), "--from", "jepsen", "--html", str(page)]) == 0
    browser.get_log("browser")
    browser.get(page.as_uri())
    state = wait_ready(browser)
    assert state["error"] is None and state["ready"], state
    assert console_errors(browser) == []
    lacks = {
        e.get_attribute("data-lacks") for e in browser.find_elements(By.CSS_SELECTOR, "#lacks li")
    }
    assert lacks == {"times", "audit", "replicas", "locust"}
    # Every operation that took effect (3 writes, 4 reads; a read and a write never completed)
    # is a point of the per-key chart.
    assert browser.execute_script("return LBDEMO.charts.key.data[0].length") == 7
    assert browser.execute_script("return LBDEMO.anomalyCount") >= 2
