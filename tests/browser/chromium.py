"""Headless Chromium through Selenium and Debian's chromium-driver, for the browser tests and
the HTML benchmark. ``scripts/ensure-chromium`` (run by ``make test``) installs both where it can;
:func:`unavailable` says why they cannot be used, so that tests skip with that reason."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser")
# The flags this machine needs: no sandbox as root, nothing that reaches out to the network.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def _binary() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def unavailable() -> str | None:
    """Why headless Chromium cannot be driven here, or None when it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if _binary() is None:
        return "chromium is not installed and scripts/ensure-chromium could not install it"
    if shutil.which("chromedriver") is None:
        return "chromedriver is not installed (Debian package chromium-driver)"
    return None


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A fresh headless Chromium (own profile directory), quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    with tempfile.TemporaryDirectory(prefix="lbdemo-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = _binary() or ""
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # An explicit driver path: Selenium Manager would otherwise try to download one.
        service = Service(executable_path=shutil.which("chromedriver") or "chromedriver")
        driver = webdriver.Chrome(options=options, service=service)
        try:
            yield driver
        finally:
            driver.quit()


def wait_ready(driver: Any, timeout_s: float = 15.0) -> dict[str, Any]:
    """Wait until the page's script set ``window.LBDEMO.ready`` (or failed); its state."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout_s).until(
        lambda d: d.execute_script(
            "return !!(window.LBDEMO && (window.LBDEMO.ready || window.LBDEMO.error))"
        )
    )
    state: dict[str, Any] = driver.execute_script(
        "return {ready: LBDEMO.ready, error: LBDEMO.error || null, readyMs: LBDEMO.readyMs || null}"
    )
    return state


def console_errors(driver: Any) -> list[str]:
    """Console errors and uncaught exceptions the page logged so far."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def screenshot_full_page(driver: Any, path: str) -> None:
    """A PNG of the whole page, not only the window: resize to the document's height first."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.execute_script("return document.documentElement.scrollWidth")
    driver.set_window_size(max(1000, width), min(6000, height + 40))
    driver.save_screenshot(path)
