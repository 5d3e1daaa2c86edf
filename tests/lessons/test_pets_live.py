"""The pets lesson through ``LiveStack`` (what ``--runtime docker`` runs) on lbdemo's own
runtime: the seam's ``copy_into``, ``signal`` and ``run_replica`` give the same verdicts on the
local ``Stack`` as on the engine (tests/docker/test_docker_stack.py runs it there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lbdemo.demo.pets_live import run_pets_on_stack
from tests.utils import running_stack


@pytest.mark.slow
async def test_the_live_lesson_on_the_local_runtime_shows_the_same_verdicts(
    tmp_path: Path,
) -> None:
    root = tmp_path / "state"
    async with running_stack(root, replicas=2) as stack:
        outcome = await run_pets_on_stack(stack, root / "lesson-pets", lambda _: None)
    transcript = outcome.markdown()
    assert outcome.problems == [], transcript
    assert "X-Catalog-Banner: patched by hand in lbdemo-r1" in transcript
    assert transcript.count("X-Catalog-Banner: edited on the host, v2") == 2
