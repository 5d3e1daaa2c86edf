"""A rolling upgrade under continuous Locust traffic, in both storage layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from lbdemo.containers.containers import ContainerStore
from lbdemo.demo.pipeline import LoadSettings, RunSpec, run_under_load
from lbdemo.demo.upgrade import UpgradeScenario
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.layout import Layout
from tests.utils import THINK_MS

pytestmark = pytest.mark.slow
# Two replicas are a rolling upgrade too (one replaced while the other serves), and the whole
# upgrade then fits in the load with room to spare when another test shares the CPU.
REPLICAS = 2


@pytest.mark.parametrize("storage", ["private", "shared"])
async def test_rolling_upgrade_fails_no_request_and_only_shared_storage_keeps_the_data(
    tmp_path: Path, storage: str
) -> None:
    state, out = tmp_path / "state", tmp_path / "out"
    spec = RunSpec(
        f"upgrade-{storage}",
        "upgrade",
        StackConfig(
            state_root=state,
            layout=Layout.from_options(storage),
            replicas=REPLICAS,
            balancer_listen="127.0.0.1:0",
        ),
        LoadSettings(users=4, duration_s=11, think_ms=THINK_MS),
        out,
    )
    outcome = await run_under_load(spec, UpgradeScenario(keys=10), lambda _line: None)
    section = outcome.report["upgrade"]

    assert section["requests_during_upgrade"] > 0, "the upgrade ran under traffic"
    upgrade_s = section["upgrade_s"]
    assert section["requests_after_upgrade"] > 0, f"the load ended within the {upgrade_s} s upgrade"
    assert section["failed_requests"] == 0
    assert section["images_after"] == ["lbdemo/catalog:1.1"]
    assert len(section["replaced"]) == REPLICAS
    assert all(step["old_id"] != step["new_id"] for step in section["replaced"])
    assert section["pre_upgrade_writes_acknowledged"] == 10
    survived = section["pre_upgrade_writes_survived"]
    assert len(survived) == REPLICAS
    expected = 0 if storage == "private" else 10
    assert set(survived.values()) == {expected}
    assert outcome.report["run"]["periods"][0]["label"] == "rolling upgrade"
    assert "## Rolling upgrade" in (out / f"upgrade-{storage}.md").read_text()
    assert ContainerStore(state).list(all=True) == [], "down removed the containers"
