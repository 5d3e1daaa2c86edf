"""lbdemo installed as its users install it, and run from outside the checkout.

* every other Python this machine has (pyenv's 3.12 and 3.13 here): a virtualenv of it, lbdemo
  installed from its wheel, ``lbdemo demo --duration 3`` shows the contrast (skipped, with the
  reason, where no other interpreter is found);
* the wheel on the Python running the tests, in an environment of its own (not the editable
  checkout): ``lbdemo demo`` and ``lbdemo check --history`` from a directory outside the
  checkout, so nothing can come from the source tree.

Slow: the environments are cached across runs (``tests/install/venvs.py``); each test still
builds the wheel and runs a demo of two 3-second loads.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.install.venvs import ROOT, build_wheel, cached_venv, install_wheel, other_pythons

pytestmark = pytest.mark.slow

CURRENT = f"{sys.version_info.major}.{sys.version_info.minor}"
DEMO_TIMEOUT_S = 300
# The two rows of the demo's headline: what a run that showed the contrast prints.
PRIVATE_ROW = re.compile(r"^private\s+inconsistent\s", re.M)
SHARED_ROW = re.compile(r"^shared\b.*\s+consistent\s", re.M)


def _run(lbdemo: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    assert not cwd.resolve().is_relative_to(ROOT)
    return subprocess.run(
        [str(lbdemo), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        check=False,
    )


def _demo_shows_the_contrast(lbdemo: Path, cwd: Path) -> None:
    done = _run(lbdemo, cwd, "demo", "--duration", "3")
    assert done.returncode == 0, done.stderr[-2000:]
    assert PRIVATE_ROW.search(done.stdout), done.stdout
    assert SHARED_ROW.search(done.stdout), done.stdout


@pytest.mark.parametrize("minor", ["3.11", "3.12", "3.13", "3.14"])
def test_the_demo_runs_on_another_python(minor: str, tmp_path: Path) -> None:
    if minor == CURRENT:
        pytest.skip(f"{minor} runs these tests: the wheel test below covers it")
    python = other_pythons(CURRENT).get(minor)
    if python is None:
        pytest.skip(f"no Python {minor} on this machine (looked in pyenv's versions and PATH)")
    with cached_venv(python, minor) as venv:
        lbdemo = install_wheel(venv, build_wheel(venv, tmp_path / "build"))
        work = tmp_path / "work"
        work.mkdir()
        _demo_shows_the_contrast(lbdemo, work)


def test_the_wheel_runs_demo_and_check_outside_the_checkout(tmp_path: Path) -> None:
    with cached_venv(Path(sys.executable), CURRENT) as venv:
        lbdemo = install_wheel(venv, build_wheel(venv, tmp_path / "build"))
        found = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import lbdemo; print(lbdemo.__file__)"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        assert "site-packages" in found.stdout and str(ROOT) not in found.stdout
        work = tmp_path / "work"
        work.mkdir()
        _demo_shows_the_contrast(lbdemo, work)
        for label, expected in (("private", "inconsistent"), ("shared", "consistent")):
            history = work / "results" / f"{label}-history.jsonl"
            done = _run(lbdemo, work, "check", "--history", str(history), "--expect", expected)
            assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-1000:]
