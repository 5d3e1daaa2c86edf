"""Restart policies as Docker and orchestrators have them: ``always`` restarts the same
container on its own layer (what it wrote survives the crash); ``replace`` removes it with its
layer and starts a fresh one from the image under the same name (cattle)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.utils import eventually, run_cli_async, running_stack

pytestmark = pytest.mark.slow


async def _write_through(http: ClientSession, url: str) -> None:
    async with http.put(f"{url}/products/pet", json={"price": 5, "write_id": "w-pet"}) as r:
        assert r.status == 200


@pytest.mark.parametrize("policy", ["always", "replace"])
async def test_a_killed_replica_comes_back_by_its_policy(tmp_path: Path, policy: str) -> None:
    async with (
        running_stack(tmp_path, storage="private", replicas=1, restart=policy) as stack,
        ClientSession() as http,
    ):
        victim = stack.replicas[0]
        await _write_through(http, victim.url)
        killed = await run_cli_async("kill", victim.name, "--state", str(tmp_path))
        assert killed.status == 0, killed.err
        await eventually(
            lambda: any(e["event"] in ("restart", "replace") for e in stack.runtime.events), 30
        )
        back = stack.replicas[0]
        async with http.get(f"{back.url}/products/pet") as r:
            status = r.status
        if policy == "always":
            assert back.id == victim.id, "the same container"
            assert victim.container.layer.exists()
            assert status == 200, "its layer, with the data it held, survived the crash"
        else:
            assert back.id != victim.id, "a new container"
            assert not victim.container.layer.exists(), "the old layer went with it"
            assert status == 404, "the fresh container started empty"
        assert back.name == victim.name
