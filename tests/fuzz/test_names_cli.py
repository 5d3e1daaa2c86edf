"""Defect 12: a name with a trailing newline was accepted (``re.match`` with ``$`` matches
before a final newline): ``volume create $'nl\\n'`` made a directory ``nl\\n`` and ``create
--name $'nl\\n'`` a record ``rm`` could not find. Names are matched in full.

One test runs ``lbdemo`` as a process, as a shell user would; the others go through the same
parser and commands in-process (tests/utils.py run_cli), which is much faster.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils import run_cli as lbdemo
from tests.utils import run_cli_process as run_lbdemo


def no_volumes(state: Path) -> bool:
    volumes = state / "volumes"
    return not volumes.exists() or not any(volumes.iterdir())


def test_volume_create_of_a_name_with_a_trailing_newline_is_refused_by_the_real_cli(
    tmp_path: Path,
) -> None:
    result = run_lbdemo(tmp_path, "volume", "create", "nl\n")
    assert result.returncode != 0
    assert "invalid characters" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, "one line, no traceback"
    assert no_volumes(tmp_path)


@pytest.mark.parametrize("name", ["nl\n", "nl\r", "nl\n\n", "\nnl", "n\nl"])
def test_volume_create_refuses_a_name_with_a_line_break_and_makes_nothing(
    tmp_path: Path, name: str
) -> None:
    result = lbdemo("volume", "create", "--state", str(tmp_path), name)
    assert result.status != 0
    assert "invalid characters" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert no_volumes(tmp_path)


def test_create_refuses_a_container_name_with_a_trailing_newline_and_records_nothing(
    tmp_path: Path,
) -> None:
    state = str(tmp_path)
    result = lbdemo("create", "--state", state, "--name", "nl\n", "lbdemo/catalog:1.0")
    assert result.status != 0
    assert "Invalid container name" in result.err
    assert len(result.err.strip().splitlines()) == 1
    listing = lbdemo("ps", "--state", state, "-a", "-q")
    assert listing.status == 0 and listing.out.strip() == ""


def test_the_name_without_the_newline_is_still_accepted_and_removable(tmp_path: Path) -> None:
    state = str(tmp_path)
    assert lbdemo("volume", "create", "--state", state, "nl").status == 0
    assert lbdemo("volume", "rm", "--state", state, "nl").status == 0
    assert no_volumes(tmp_path)
