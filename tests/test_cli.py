"""The command line behaves like the tools users know: one-line errors, exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lbdemo", *args], capture_output=True, text=True, timeout=60
    )


def test_unknown_command_is_one_line_and_status_2() -> None:
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_version_prints_the_package_version() -> None:
    from lbdemo import __version__

    result = run_cli("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_an_unwritable_path_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for args in (
        ["up", "--state", str(blocker / "state")],
        ["demo", "--state", str(tmp_path / "s"), "--out", str(blocker / "out")],
    ):
        result = run_cli(*args)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert str(blocker) in result.stderr
