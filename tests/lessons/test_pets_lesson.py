"""The pets lesson end to end: real ``lbdemo`` processes, a real stack, real HTTP answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lbdemo.cli import build_parser
from lbdemo.commands import demo as demo_command
from lbdemo.demo.pets import PetsOutcome, Step, run_pets_lesson


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


def test_the_lesson_is_a_scenario_of_lbdemo_demo() -> None:
    args = build_parser().parse_args(["demo", "--scenario", "pets"])
    assert args.func is demo_command.run and args.scenario == "pets"


def test_long_outputs_keep_their_first_lines_and_say_how_many_are_cut() -> None:
    outcome = PetsOutcome([Step("lbdemo diff x", "".join(f"A /f{i}\n" for i in range(100)))])
    text = outcome.markdown()
    assert "A /f0\n" in text and "A /f11\n" in text and "A /f12\n" not in text
    assert "... (88 more lines)" in text
