"""``lbdemo demo --scenario faults``: options it cannot honour are refused before anything
starts, in one line with status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils import run_cli


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dsn", "postgresql://u@127.0.0.1:1/x"], "kills its own PostgreSQL"),
        (["--replicas", "2"], "at least 3 replicas"),
    ],
)
def test_faults_refuses_what_it_cannot_do_in_one_line(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    result = run_cli(
        "demo",
        "--scenario",
        "faults",
        *argv,
        "--state",
        str(tmp_path),
        "--out",
        str(tmp_path / "out"),
    )
    assert result.status == 2
    assert message in result.err and result.err.count("\n") == 1
    assert not (tmp_path / "out").exists()
