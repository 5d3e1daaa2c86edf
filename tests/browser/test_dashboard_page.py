"""The dashboard page on a projector: 1280x720, in headless Chromium, fed by a real dashboard
server with the page's fullest state (tests/browser/dashboard_feed.py).

What a room must read without anyone scrolling: the verdict, the counters, six replica cards
and the last three events inside the viewport; no text under 16 px; every text colour at least
4.5:1 against the background it is drawn on (WCAG AA). Charts follow the window. A stopped stack
is said across the page, and the tab reconnects by itself to the next server on the address.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.chromium import chromium, console_errors, unavailable
from tests.browser.dashboard_feed import (
    EVENT_LINES,
    PRICES,
    FakeActions,
    FedDashboard,
    busy_snapshot,
    fed_dashboard,
)

pytestmark = pytest.mark.slow
WIDTH, HEIGHT = 1280, 720
MIN_CONTRAST = 4.5
MIN_FONT_PX = 16


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    reason = unavailable()
    if reason:
        pytest.skip(f"browser test skipped: {reason}")
    with chromium(WIDTH, HEIGHT) as d:
        yield d


def set_viewport(driver: Any, width: int, height: int) -> None:
    """The page's viewport exactly (a window's size includes whatever frame it has)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def until(driver: Any, check: Callable[[Any], Any], what: str, timeout_s: float = 10) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check(driver)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never showed {what}")
        time.sleep(0.1)


def open_busy(driver: Any, fed: FedDashboard, *, replay: bool = False) -> None:
    fed.set_actions(FakeActions(PRICES))
    for line in EVENT_LINES:
        fed.say(line)
    fed.publish(busy_snapshot(replay=replay))
    set_viewport(driver, WIDTH, HEIGHT)
    driver.get_log("browser")  # what an earlier page logged
    driver.get(fed.link)
    # Six replicas, one of them a replacement: six cards, r2's saying both.
    until(driver, lambda d: len(d.find_elements("css selector", ".card")) == 6, "six cards")
    until(
        driver,
        lambda d: len(d.find_elements("css selector", "#lookup-result tbody tr")) == 6,
        "the key on six replicas",
    )
    time.sleep(0.3)  # one frame for the chart


SHOTS = os.environ.get("LBDEMO_SCREENSHOTS")

# Every visible element with text of its own: its rectangle, font size, colour, and the colour
# behind it (its own background or its nearest ancestor's, translucent layers blended).
MEASURE_TEXT = """
function rgba(text) {
  const m = text.match(/[\\d.]+/g).map(Number);
  return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
}
function over(top, below) {  // top composited over an opaque colour
  const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + below[i] * (1 - a)).concat([1]);
}
function behind(node) {
  const layers = [];
  for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
    const c = rgba(getComputedStyle(n).backgroundColor);
    if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let colour = [255, 255, 255, 1];  // the canvas behind everything
  for (let i = layers.length - 1; i >= 0; i--) colour = over(layers[i], colour);
  return colour;
}
function luminance(c) {
  const f = v => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
}
function contrast(a, b) {
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}
const out = [];
for (const node of document.body.querySelectorAll("*")) {
  const own = [...node.childNodes].some(c => c.nodeType === 3 && c.textContent.trim());
  if (!own) continue;
  const style = getComputedStyle(node);
  const rect = node.getBoundingClientRect();
  if (!node.getClientRects().length || style.visibility !== "visible" || rect.width === 0) continue;
  if (node.closest("[hidden]")) continue;
  const bg = behind(node);
  const fg = over(rgba(style.color), bg);
  out.push({text: node.textContent.trim().slice(0, 40), tag: node.tagName,
            font: parseFloat(style.fontSize), contrast: contrast(fg, bg),
            top: rect.top, bottom: rect.bottom, left: rect.left, right: rect.right});
}
return out;
"""


def inside(rect: dict[str, float]) -> bool:
    return (
        rect["top"] >= 0
        and rect["left"] >= 0
        and rect["bottom"] <= HEIGHT
        and rect["right"] <= WIDTH
    )


def rects(driver: Any, selector: str) -> list[dict[str, float]]:
    found: list[dict[str, float]] = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.getBoundingClientRect())"
        ".map(r => ({top: r.top, bottom: r.bottom, left: r.left, right: r.right}))",
        selector,
    )
    return found


def test_the_story_fits_1280x720_in_16px_text_at_4_5_to_1(driver: Any) -> None:
    with fed_dashboard() as fed:
        open_busy(driver, fed)
        if SHOTS:
            driver.save_screenshot(str(Path(SHOTS) / "dashboard-1280x720.png"))
        # Nothing to scroll to, either way.
        size = driver.execute_script(
            "const s = document.scrollingElement;"
            "return [s.scrollWidth, s.scrollHeight, innerWidth, innerHeight]"
        )
        assert size == [WIDTH, HEIGHT, WIDTH, HEIGHT], size
        for selector in ("#verdict", ".count", ".card", "#chart-stale", "#lookup-result"):
            found = rects(driver, selector)
            assert found and all(inside(r) for r in found), (selector, found)
        events = rects(driver, "#log li")
        assert len(events) >= 3 and all(inside(r) for r in events[:3]), events[:3]
        texts = driver.execute_script(MEASURE_TEXT)
        assert len(texts) > 60  # the counters, seven cards, the key's rows, the events...
        small = [t for t in texts if t["font"] < MIN_FONT_PX]
        assert small == [], small
        faint = [t for t in texts if t["contrast"] < MIN_CONTRAST]
        assert faint == [], faint
        shown = driver.find_element("id", "verdict").text
        assert "INCONSISTENT" in shown and "1,234,567 stale reads" in shown
        reborn = driver.find_element("css selector", '.card.reborn[data-name="lbdemo-r2"]')
        assert "killed, exit 137" in reborn.text and "replaced" in reborn.text
        alarm = driver.find_elements("css selector", "#log li.alarm")
        assert any("died" in li.text for li in alarm)
        title = driver.find_element("id", "key-title").text
        assert title == "hottest: p6 on each replica"  # the run's tag is out of the way
        assert console_errors(driver) == []


def test_a_finished_load_keeps_its_verdict_and_report_link(driver: Any) -> None:
    with fed_dashboard() as fed:
        open_busy(driver, fed)
        snap = busy_snapshot()
        snap["verdict"] = {
            **snap["verdict"],
            "state": "finished",
            "lost_writes": 12,
            "report": {"html": "/tmp/x/private.html", "url": "/reports/abc/private.html"},
        }
        fed.publish(snap)
        link = until(
            driver,
            lambda d: [a for a in d.find_elements("id", "verdict-report") if a.is_displayed()],
            "the report link",
        )[0]
        assert link.get_attribute("href").endswith("/reports/abc/private.html")
        text = driver.find_element("id", "verdict").text
        assert "finished" in text and "INCONSISTENT" in text and "12 lost writes" in text
        assert inside(rects(driver, "#verdict-report")[0])


def test_a_replay_is_marked_as_one(driver: Any) -> None:
    with fed_dashboard() as fed:
        open_busy(driver, fed, replay=True)
        mark = driver.find_element("id", "replay")
        assert mark.is_displayed() and "REPLAY" in mark.text
        assert inside(rects(driver, "#replay")[0])


def test_the_chart_follows_window_resizes(driver: Any) -> None:
    with fed_dashboard() as fed:
        open_busy(driver, fed)
        measure = (
            "const box = document.getElementById('chart-stale').getBoundingClientRect();"
            "const c = document.querySelector('#chart-stale canvas').getBoundingClientRect();"
            "return {box: box.width, canvas: c.width, right: c.right, boxRight: box.right,"
            " page: document.scrollingElement.scrollWidth, view: innerWidth}"
        )
        widths = []
        for width, height in ((WIDTH, HEIGHT), (900, 700), (1600, 900), (WIDTH, HEIGHT)):
            set_viewport(driver, width, height)

            def follows(d: Any) -> dict[str, float] | None:
                m: dict[str, float] = d.execute_script(measure)
                ok = abs(m["canvas"] - m["box"]) <= 2 and m["right"] <= m["boxRight"] + 1
                return m if ok and m["page"] <= m["view"] else None

            widths.append(until(driver, follows, f"the chart at {width} px wide")["canvas"])
        assert widths[1] < widths[0] < widths[2] and abs(widths[3] - widths[0]) <= 2, widths
        assert console_errors(driver) == []


def test_a_stopped_stack_is_said_across_the_page_and_the_tab_reconnects(driver: Any) -> None:
    with fed_dashboard() as fed:
        open_busy(driver, fed)
        port, token = fed.port, fed.dashboard.token
        # The stack stops while the server stays (lbdemo demo between two runs).
        fed.publish({"time": time.time(), "stack": None, "replicas": [], "rotation": []})
        box = until(
            driver,
            lambda d: [e for e in d.find_elements("id", "stopped") if e.is_displayed()],
            "the stopped notice",
        )[0]
        assert box.size["width"] >= WIDTH * 0.9 and box.size["height"] >= HEIGHT * 0.9
        assert "No stack is running" in box.text
    # The server itself is gone (lbdemo up ended): the page says so, then the next server on
    # the same address and token is picked up without a reload.
    until(
        driver,
        lambda d: "The stack stopped" in d.find_element("id", "stopped").text,
        "the stack stopped",
    )
    before = driver.execute_script("return LBDEMO.snapshots")
    with fed_dashboard(port=port, token=token) as again:
        snap = busy_snapshot(generation="gen-2")
        snap["replicas"] = snap["replicas"][:3]
        again.publish(snap)
        until(
            driver,
            lambda d: (
                d.execute_script("return LBDEMO.snapshots") > before
                and not d.find_element("id", "stopped").is_displayed()
            ),
            "the next stack",
            timeout_s=15,
        )
        # Nothing of the old stack stays: three cards now, not the six of before.
        until(driver, lambda d: len(d.find_elements("css selector", ".card")) == 3, "3 cards")
        assert driver.execute_script("return LBDEMO.resets") == 1
