"""The talk as written: docs/presenting.md's commands, in order, against a real stack, with the
dashboard open in a real headless Chromium at 1280x720 (tests/browser/talk.py reads the doc).

Every quoted output must be the real one, every line the doc quotes fits 80 columns, and each
screenshot the doc shows is taken at its point of the talk, once the page shows what the doc
says it shows. ``LBDEMO_SCREENSHOTS=DIR`` keeps them (results/screenshots/talk/ holds the
committed ones); ``LBDEMO_TALK_RECORD=1`` writes the real outputs into the doc instead of
checking them (then read the diff: figures that vary want a ``...`` or ``figures-vary``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.chromium import chromium, console_errors, unavailable
from tests.browser.talk import Block, Shot, matches, rewrite, steps

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "presenting.md"
COLUMNS = 80
DOC_PORT = "127.0.0.1:8080"
COMMAND_TIMEOUT_S = 120

# What the page must show before each screenshot is taken (a JavaScript expression).
CARDS = "document.querySelectorAll('.card')"
STOPPED = "!document.getElementById('stopped').hidden"
VERDICT = "document.getElementById('verdict')"
READY = {
    "01-up-private.png": f"{CARDS}.length === 3 && !({STOPPED}) && LBDEMO.snapshots > 1",
    "02-one-write.png": "document.getElementById('lookup-result').dataset.key === 'apple'"
    " && document.querySelectorAll('#lookup-result tbody tr').length === 3",
    "03-load-private.png": f"{VERDICT}.dataset.state === 'finished'"
    " && !document.getElementById('verdict-report').hidden"
    f" && /INCONSISTENT/.test({VERDICT}.textContent)",
    "04-kill.png": "!!document.querySelector('.card.reborn[data-name=\"lbdemo-r1\"]')",
    "05-upgrade.png": f"{CARDS}.length === 3 && [...{CARDS}].every(c => /catalog:1.1/.test("
    "c.textContent)) && /already on/.test(document.getElementById('upgrade').textContent)",
    "06-down.png": STOPPED,
    "07-up-shared.png": f"!({STOPPED}) && {CARDS}.length === 3"
    " && /shared/.test(document.getElementById('stack').textContent)",
    "08-load-shared.png": f"{VERDICT}.dataset.state === 'finished'"
    f" && /^consistent/.test(document.getElementById('verdict-text').textContent)",
}
# While the stack is down the page's reconnection attempts fail: the browser logs those.
EXPECTED_ERRORS = re.compile(r"ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|net::ERR_")


class Talk:
    """The speaker's terminal: one directory, the project's lbdemo first on PATH."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.balancer: str | None = None
        self.dashboard_link: str | None = None
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "COLUMNS": str(COLUMNS),
            "NO_COLOR": "1",
        }
        for name in ("LBDEMO_STATE", "LBDEMO_ADMIN_TOKEN"):
            self.env.pop(name, None)

    def command(self, line: str) -> str:
        """The doc's command as run here: `up` on a free port, the balancer where it is."""
        if line.split()[:2] == ["lbdemo", "up"]:
            line += " --port 0"
        if self.balancer is not None:
            line = line.replace(DOC_PORT, self.balancer)
        return line

    def run(self, line: str) -> list[str]:
        proc = subprocess.run(
            ["bash", "-c", self.command(line)],
            cwd=self.work,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
        )
        out = proc.stdout.replace(str(self.work), "~/lbdemo")
        found = re.search(r"balancer +http://(127\.0\.0\.1:\d+)", out)
        if found:
            self.balancer = found.group(1)
            out = out.replace(self.balancer, DOC_PORT)  # as the doc shows it: port 8080
        link = re.search(r"dashboard +(http://\S+#token=\S+)", out)
        if link:
            self.dashboard_link = link.group(1)
        return out.rstrip("\n").splitlines()


@pytest.fixture
def work() -> Iterator[Path]:
    # Not under pytest's basetemp (0700): PostgreSQL runs as its own user and must get in.
    path = Path(tempfile.mkdtemp(prefix="lbdemo-talk-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        for cleanup in ("lbdemo rm -f second", "lbdemo down -v"):
            subprocess.run(["bash", "-c", cleanup], cwd=path, env=env, capture_output=True)
        shutil.rmtree(path, ignore_errors=True)


def wait_for(
    driver: Any, name: str, shots: Path, transcript: list[str], timeout_s: float = 30.0
) -> None:
    condition = READY[name]
    deadline = time.monotonic() + timeout_s
    while not driver.execute_script(f"return !!({condition})"):
        if time.monotonic() > deadline:
            driver.save_screenshot(str(shots / f"not-ready-{name}"))
            said = "\n".join(transcript[-30:])
            raise AssertionError(f"{name}: the page never showed: {condition}\n{said}")
        time.sleep(0.1)
    time.sleep(0.3)  # the chart and the highlight drawn


def test_the_talk_runs_as_written(work: Path) -> None:
    reason = unavailable()
    if reason:
        pytest.skip(f"talk test skipped: {reason}")
    doc = DOC.read_text(encoding="utf-8")
    plan = steps(doc)
    record = bool(os.environ.get("LBDEMO_TALK_RECORD"))
    shots = Path(os.environ.get("LBDEMO_SCREENSHOTS") or work / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    assert {s.name for s in plan if isinstance(s, Shot)} == set(READY)
    wide = [
        line
        for step in plan
        if isinstance(step, Block)
        for command in step.commands
        for shown in ["$ " + command.line, *command.quoted]
        for line in shown.splitlines()
        if len(line) > COLUMNS
    ]
    assert wide == [] or record, f"quoted lines wider than {COLUMNS} columns: {wide}"
    talk = Talk(work)
    outputs: dict[int, list[list[str]]] = {}
    failures: list[str] = []
    started = time.monotonic()
    opened = False
    transcript: list[str] = []
    with chromium(1280, 720) as driver:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": False},
        )
        for step in plan:
            if isinstance(step, Shot):
                wait_for(driver, step.name, shots, transcript)
                driver.save_screenshot(str(shots / step.name))
                continue
            for command in step.commands:
                real = talk.run(command.line)
                transcript += ["$ " + command.line, *real]
                outputs.setdefault(step.start, []).append(real)
                if not matches(command.quoted, real, command.figures_vary):
                    failures.append(
                        f"$ {command.line}\n--- the doc quotes:\n"
                        + "\n".join(command.quoted)
                        + "\n--- it printed:\n"
                        + "\n".join(real)
                    )
                if talk.dashboard_link and not opened:
                    driver.get(talk.dashboard_link)  # the tab stays open for the whole talk
                    opened = True
        errors = [e for e in console_errors(driver) if not EXPECTED_ERRORS.search(e)]
    took = time.monotonic() - started
    if record:
        DOC.write_text(rewrite(doc, outputs), encoding="utf-8")
        return
    assert failures == [], "\n\n".join(failures)
    assert errors == []
    # 54 to 75 s on this project's shared 2-core machine; the bound only catches a hang
    assert took < 300, f"the talk took {took:.0f} s"
