"""Headless Chromium for the dashboard's browser test: Selenium with Debian's chromium and
chromium-driver (installed by ``scripts/ensure-chromium`` where it can; see the HTML report's
browser tests). :func:`why_unavailable` gives the reason to skip with."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# No sandbox (the tests may run as root); nothing that reaches out to the network.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")  # fmt: skip


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def why_unavailable() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if _chromium() is None:
        return "chromium is not installed (Debian package chromium; scripts/ensure-chromium)"
    if shutil.which("chromedriver") is None:
        return "chromedriver is not installed (Debian package chromium-driver)"
    return None


@contextmanager
def headless_chromium(width: int = 1400, height: int = 1100) -> Iterator[Any]:
    """A fresh browser with its own profile directory, quit on exit (also on failure)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="lbdemo-dashboard-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = _chromium() or ""
        for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # An explicit driver: Selenium Manager would otherwise try to download one.
        service = Service(executable_path=shutil.which("chromedriver") or "chromedriver")
        driver = webdriver.Chrome(options=options, service=service)
        try:
            yield driver
        finally:
            driver.quit()


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
