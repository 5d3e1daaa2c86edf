"""Defect 12: a name with a trailing newline was accepted (``re.match`` with ``$`` matches
before a final newline): ``volume create $'nl\\n'`` made a directory ``nl\\n`` and ``create
--name $'nl\\n'`` a record ``rm`` could not find. Names are matched in full."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.cli import run_lbdemo


@pytest.mark.parametrize("name", ["nl\n", "nl\r", "nl\n\n", "\nnl"])
def test_volume_create_refuses_a_name_with_a_newline_and_makes_nothing(
    tmp_path: Path, name: str
) -> None:
    result = run_lbdemo(tmp_path, "volume", "create", name)
    assert result.returncode != 0
    assert "invalid characters" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, "one line, no traceback"
    volumes = tmp_path / "volumes"
    assert not volumes.exists() or not any(volumes.iterdir())


def test_create_refuses_a_container_name_with_a_trailing_newline_and_records_nothing(
    tmp_path: Path,
) -> None:
    result = run_lbdemo(tmp_path, "create", "--name", "nl\n", "lbdemo/catalog:1.0")
    assert result.returncode != 0
    assert "Invalid container name" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    listing = run_lbdemo(tmp_path, "ps", "-a", "-q")
    assert listing.returncode == 0 and listing.stdout.strip() == ""


def test_a_name_without_the_newline_is_still_accepted_and_removable(tmp_path: Path) -> None:
    assert run_lbdemo(tmp_path, "volume", "create", "nl").returncode == 0
    assert run_lbdemo(tmp_path, "volume", "rm", "nl").returncode == 0
