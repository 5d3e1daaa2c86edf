"""The checker's scale benchmarks: their long histories are valid, and their section of
results/scale.md replaces itself without touching the rest of the file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lbdemo.checker import check
from lbdemo.history import read_history

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))  # check_scale imports check_blocks
    try:
        spec = importlib.util.spec_from_file_location(
            f"{name}_under_test", BENCHMARKS / f"{name}.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.parametrize(("replicas", "verdict"), [(1, "consistent"), (3, "inconsistent")])
def test_blocks_make_one_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replicas: int, verdict: str
) -> None:
    blocks = _load("check_blocks")
    monkeypatch.setattr(blocks, "BLOCK", 1_000)
    path = tmp_path / "h.jsonl"
    blocks.write_history(path, 3_000, replicas=replicas)
    history = read_history(path)  # unique write ids, one op at a time per client
    assert len(history.ops) == 3_000
    assert check(history).verdict == verdict


def test_the_section_replaces_itself_and_leaves_the_rest(tmp_path: Path) -> None:
    scale = _load("check_scale")
    path = tmp_path / "scale.md"
    path.write_text("# Scale\n\n## Throughput against replicas\n\nsomeone else's\n")
    scale.write_section(path, ["## The checker", "run 1"])
    scale.write_section(path, ["## The checker", "run 2"])
    text = path.read_text()
    assert "someone else's" in text and "run 2" in text and "run 1" not in text
    assert text.count(scale.BEGIN) == 1
