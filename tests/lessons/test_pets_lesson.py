"""The pets lesson end to end: real ``lbdemo`` processes, a real stack, real HTTP answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lbdemo.demo.pets import run_pets_lesson


@pytest.mark.slow
async def test_a_patch_dies_with_its_container_a_bind_mounted_change_survives(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    # In a thread: the lesson runs blocking commands, and a stack of its own via `up -d`.
    outcome = await asyncio.to_thread(
        run_pets_lesson, tmp_path / "state", tmp_path / "work", said.append
    )
    transcript = outcome.markdown()
    assert outcome.problems == [], transcript
    assert "X-Catalog-Banner: patched by hand in lbdemo-r1" in transcript
    assert "C /etc/catalog/catalog.conf" in transcript
    assert "X-Catalog-Banner: edited on the host, v2" in transcript
    assert transcript.rstrip().endswith("lbdemo: stopped\n```"), "the stack is taken down"
    assert (tmp_path / "work/config/catalog.conf").read_text().endswith("v2\n")
    assert "reloaded" in (tmp_path / "work/logs/catalog.log").read_text()
    assert not (tmp_path / "state/run/daemon.json").exists()
