"""The dashboard in headless Chromium, on a real stack under a short real Locust load.

The page must show the counts changing while the load runs, and a click on a replica's "kill"
must take that replica out of the rotation and put the event in the page's log, worded as
``lbdemo up`` words it. Set ``LBDEMO_SCREENSHOTS=DIR`` to keep the screenshot (results/
screenshots/dashboard.png is one made that way).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lbdemo.dashboard import Dashboard
from lbdemo.load.run import DEFAULT_KEY_PREFIX, run_locust
from tests.browser.chromium import chromium, console_errors, unavailable
from tests.utils import THINK_MS, running_stack

pytestmark = pytest.mark.slow
LOAD_S = 5.0
VICTIM = "lbdemo-r2"


def figure(driver: Any, element_id: str) -> int | None:
    text = driver.find_element("id", element_id).text.replace(",", "")
    return int(text) if text.isdigit() else None


async def until(driver: Any, check: Callable[[Any], Any], timeout_s: float, what: str) -> Any:
    """Poll the page (Selenium blocks: in a thread, so the servers on this loop keep serving)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await asyncio.to_thread(check, driver)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never showed {what}")
        await asyncio.sleep(0.1)


def log_lines(driver: Any) -> list[str]:
    lines: list[str] = driver.execute_script(
        "return [...document.querySelectorAll('#log li')].map(li => li.textContent)"
    )
    return lines


async def test_counts_move_under_load_and_kill_takes_a_replica_out(tmp_path: Path) -> None:
    reason = unavailable()
    if reason:
        pytest.skip(f"browser test skipped: {reason}")
    shots = Path(os.environ.get("LBDEMO_SCREENSHOTS") or tmp_path)
    async with running_stack(tmp_path / "state", storage="private", replicas=3) as stack:
        dashboard = Dashboard(interval_s=0.5)
        await dashboard.start()
        try:
            await dashboard.watch(stack)
            with chromium(height=1350) as driver:
                # Opened without the link's token, the page says where to get it, and connects
                # to nothing.
                assert dashboard.url is not None
                await asyncio.to_thread(driver.get, dashboard.url + "/")
                await until(
                    driver,
                    lambda d: d.find_element("id", "no-token").is_displayed(),
                    10,
                    "where to find the token",
                )
                assert driver.execute_script("return LBDEMO.snapshots") == 0
                await asyncio.to_thread(driver.get, dashboard.link)
                await until(
                    driver,
                    lambda d: len(d.find_elements("css selector", ".card")) == 3,
                    15,
                    "three replica cards",
                )
                assert "token" not in driver.current_url  # the fragment left the address bar
                assert await asyncio.to_thread(figure, driver, "count-reads") is None  # "–"
                before = await asyncio.to_thread(figure, driver, "count-requests")
                load = asyncio.create_task(
                    run_locust(
                        stack.url,
                        tmp_path / "history.jsonl",
                        users=10,
                        spawn_rate=10,
                        duration_s=LOAD_S,
                        keys=8,
                        write_ratio=0.3,
                        on_line=dashboard.locust_line,
                        think_ms=THINK_MS,
                    )
                )
                try:
                    # From "–" (no load yet) to numbers: Locust's operations, and the
                    # balancer's requests beyond what they were before the load.
                    await until(
                        driver,
                        lambda d: (
                            (figure(d, "count-reads") or 0) > 0
                            and (figure(d, "count-requests") or 0) > (before or 0)
                            and (figure(d, "count-divergent") or 0) > 0
                        ),
                        40,
                        "the counts moving",
                    )
                    kill = driver.find_element(
                        "css selector", f'.card[data-name="{VICTIM}"] [data-action="kill"]'
                    )
                    await asyncio.to_thread(kill.click)
                    await until(
                        driver,
                        lambda d: any(
                            f"{VICTIM} left the rotation" in line for line in log_lines(d)
                        ),
                        15,
                        "the replica leaving in the event log",
                    )
                    await asyncio.sleep(1.2)  # two more samples: its card shows it dead
                    shot = shots / "dashboard.png"  # under load, one replica down
                    await asyncio.to_thread(driver.save_screenshot, str(shot))
                    run = await load
                    # Responsive under load: snapshots kept arriving at the sampling rate, and
                    # drawing one never froze the page.
                    arrivals = driver.execute_script("return LBDEMO.arrivals")
                    render_ms = driver.execute_script("return LBDEMO.renderMs")
                finally:
                    if not load.done():
                        load.cancel()
                        await asyncio.gather(load, return_exceptions=True)
                await until(
                    driver,
                    lambda d: any(f"{VICTIM} replaced:" in line for line in log_lines(d)),
                    60,
                    "the replacement in the event log",
                )
                # The look-up asks every replica directly: with private storage and a fresh
                # (empty) lbdemo-r2, they cannot all agree on a key the load wrote.
                box = driver.find_element("id", "lookup-key")
                await asyncio.to_thread(box.send_keys, f"{DEFAULT_KEY_PREFIX}0")
                await asyncio.to_thread(driver.find_element("id", "lookup").click)
                # The key panel shows the hottest key until the look-up's answer replaces it.
                asked = f"{DEFAULT_KEY_PREFIX}0"
                # (the hottest key may be that key already: the look-up's answer is the status line)
                rows = await until(
                    driver,
                    lambda d: (
                        d.find_element("id", "action-status").text.startswith(f"{asked}:")
                        and d.find_elements(
                            "css selector", f'#lookup-result[data-key="{asked}"] tbody tr'
                        )
                    ),
                    10,
                    "the look-up's rows",
                )
                assert len(rows) == 3
                assert "the replicas disagree" in driver.find_element("id", "action-status").text
                await asyncio.sleep(1.2)  # two more samples: the card of the fresh container
                rotations = driver.execute_script("return LBDEMO.rotations")
                dead_shown = driver.execute_script("return LBDEMO.deadShown")
                lines = log_lines(driver)
                await asyncio.to_thread(driver.save_screenshot, str(shots / "dashboard-after.png"))
                errors = console_errors(driver)
        finally:
            await dashboard.stop()
    died = next(line for line in lines if f"{VICTIM} (" in line and "died" in line)
    assert "exit status 137" in died
    assert ["lbdemo-r1", "lbdemo-r2", "lbdemo-r3"] in rotations
    assert any(VICTIM not in names and len(names) == 2 for names in rotations), rotations
    assert rotations[-1] and VICTIM in rotations[-1]  # the fresh container joined again
    assert dead_shown == [VICTIM]  # its card said it died, until the fresh one ran
    assert run.stats is not None and run.stats.requests > 0
    assert shot.stat().st_size > 10_000
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert len(arrivals) >= LOAD_S and max(gaps) < 5000, gaps  # sampled every 500 ms
    assert render_ms < 250  # generous: the machine running the suite may be loaded
    assert errors == []
