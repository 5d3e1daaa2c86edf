"""`benchmarks/check_speed.py --keep DIR` leaves the history docs/checker.md then checks alone."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from lbdemo.cli import main as lbdemo_main


def _check_speed_main() -> Callable[[list[str]], int]:
    path = Path(__file__).parents[2] / "benchmarks" / "check_speed.py"
    spec = importlib.util.spec_from_file_location("check_speed_keep", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(Callable[[list[str]], int], module.main)


def test_keep_leaves_the_history_for_lbdemo_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main = _check_speed_main()
    assert main(["--ops", "2000", "--mode", "stale", "--keep", str(tmp_path / "kept")]) == 0
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["stale.jsonl"]
    capsys.readouterr()
    # the stale history: lbdemo check reads it and finds it inconsistent (exit 0: no limit set)
    assert lbdemo_main(["check", "--history", str(tmp_path / "kept" / "stale.jsonl")]) == 0
    assert "inconsistent" in capsys.readouterr().out.lower()


def test_without_keep_nothing_is_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    main = _check_speed_main()
    assert main(["--ops", "2000", "--mode", "consistent"]) == 0
    assert list(tmp_path.iterdir()) == []
