"""The pets lesson end to end: a real stack, real ``lbdemo`` command lines, real HTTP answers.

``lbdemo demo --scenario pets`` runs the same script with each command as its own process
(and ``up -d``/``down`` around it); results/lessons.md is a transcript of that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from lbdemo.cli import build_parser
from lbdemo.commands import demo as demo_command
from lbdemo.demo.pets import Lesson, PetsOutcome, Step, pets_script
from tests.utils import run_cli, running_stack


def in_process(argv: Sequence[str], state_root: Path, cwd: Path) -> tuple[int, str]:
    """The same command line through lbdemo's own main() (the test has chdir'ed to ``cwd``
    and set LBDEMO_STATE): no interpreter start per command, so the lesson runs in seconds."""
    result = run_cli(*argv)
    return result.status, result.out + result.err


@pytest.mark.slow
async def test_a_patch_dies_with_its_container_a_bind_mounted_change_survives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, work = tmp_path / "state", tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("LBDEMO_STATE", str(root))
    said: list[str] = []
    lesson = Lesson(root, work, said.append, run_command=in_process)
    async with running_stack(root, replicas=2):
        # In a thread: the lesson's commands block, and the stack's daemon runs on this loop.
        await asyncio.to_thread(pets_script, lesson)
    transcript = lesson.outcome.markdown()
    assert lesson.outcome.problems == [], transcript
    assert "X-Catalog-Banner: patched by hand in lbdemo-r1" in transcript
    assert "C /etc/catalog/catalog.conf" in transcript
    assert "X-Catalog-Banner: edited on the host, v2" in transcript
    assert (work / "config/catalog.conf").read_text().endswith("v2\n")
    assert "reloaded" in (work / "logs/catalog.log").read_text()


def test_the_lesson_is_a_scenario_of_lbdemo_demo() -> None:
    args = build_parser().parse_args(["demo", "--scenario", "pets"])
    assert args.func is demo_command.run and args.scenario == "pets"


def test_long_outputs_keep_their_first_lines_and_say_how_many_are_cut() -> None:
    outcome = PetsOutcome([Step("lbdemo diff x", "".join(f"A /f{i}\n" for i in range(100)))])
    text = outcome.markdown()
    assert "A /f0\n" in text and "A /f11\n" in text and "A /f12\n" not in text
    assert "... (88 more lines)" in text
