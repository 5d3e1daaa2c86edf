"""A real small run, its HTML pages, and a headless Chromium, shared by the browser tests.

The run is ``lbdemo demo`` in a subprocess (private then shared storage, a few seconds each).
Set ``LBDEMO_HTML_RUN=DIR`` to use the files of an earlier ``lbdemo demo --out DIR`` instead,
and ``LBDEMO_SCREENSHOTS=DIR`` to have the tests save their screenshots there (results/
screenshots/ holds the committed ones).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lbdemo.checker import Audit, CheckResult, check, load_audit
from lbdemo.history import History, read_history
from lbdemo.report import build_report
from lbdemo.report.html import render_compare_html, render_report_html
from tests.browser.chromium import chromium, unavailable
from tests.utils import THINK_MS

RUN_SECONDS = 3  # enough stale reads in the private run even when the CPU is shared
RUN_TIMEOUT_S = 150


@dataclass
class RenderedRun:
    """One scenario of the run: what the page was made from, and the page."""

    name: str
    report: dict[str, Any]
    history: History
    result: CheckResult
    audit: Audit
    page: Path


@dataclass
class Pages:
    runs: dict[str, RenderedRun]
    compare: Path


@pytest.fixture(scope="session")
def browser_unavailable() -> None:
    reason = unavailable()
    if reason:
        pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def run_dir(browser_unavailable: None) -> Iterator[Path]:
    given = os.environ.get("LBDEMO_HTML_RUN")
    if given:
        yield Path(given)
        return
    # Not under pytest's basetemp: every pytest session (others may run at the same time) resets
    # it to 0700, and PostgreSQL, run as the user lbdemo-pg, must traverse to its data directory.
    base = Path(tempfile.mkdtemp(prefix="lbdemo-html-run-"))
    try:
        yield _demo(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _demo(base: Path) -> Path:
    out = base / "out"
    cmd = [
        sys.executable,
        "-m",
        "lbdemo",
        "demo",
        "--duration",
        str(RUN_SECONDS),
        "--users",
        "5",
        "--think-time",
        str(THINK_MS),
        "--out",
        str(out),
        "--state",
        str(base / "state"),
    ]
    # subprocess.run kills the demo on timeout; its children die with it (parent-death signal).
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, f"lbdemo demo failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def _render(run_dir: Path, out: Path, name: str) -> RenderedRun:
    saved = json.loads((run_dir / f"{name}.json").read_text(encoding="utf-8"))
    history = read_history(run_dir / f"{name}-history.jsonl")
    audit = load_audit(run_dir / f"{name}-audit.json")
    result = check(history, audit)
    report = build_report(result, history, audit, saved["run"])
    page = out / f"{name}.html"
    page.write_text(render_report_html(report, history, result, audit), encoding="utf-8")
    return RenderedRun(name, report, history, result, audit, page)


@pytest.fixture(scope="session")
def pages(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Pages:
    out = tmp_path_factory.mktemp("html-pages")
    runs = {name: _render(run_dir, out, name) for name in ("private", "shared")}
    # The compare page from report JSON alone (as `lbdemo compare` has it), through a JSON round
    # trip; rebuilt rather than read so that a run from before the series existed still works.
    reports = [json.loads(json.dumps(runs[name].report)) for name in ("private", "shared")]
    compare = out / "compare.html"
    compare.write_text(render_compare_html(reports), encoding="utf-8")
    return Pages(runs, compare)


@pytest.fixture(scope="session")
def browser(browser_unavailable: None) -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="session")
def screenshots() -> Path | None:
    target = os.environ.get("LBDEMO_SCREENSHOTS")
    if not target:
        return None
    path = Path(target)
    path.mkdir(parents=True, exist_ok=True)
    return path
