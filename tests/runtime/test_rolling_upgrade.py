"""A rolling upgrade under continuous Locust traffic, in both storage layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from lbdemo.containers.containers import ContainerStore
from lbdemo.demo.upgrade import UpgradeScenarioConfig, run_upgrade_scenario

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("storage", ["private", "shared"])
async def test_rolling_upgrade_fails_no_request_and_only_shared_storage_keeps_the_data(
    tmp_path: Path, storage: str
) -> None:
    config = UpgradeScenarioConfig(
        storage=storage,  # type: ignore[arg-type]
        state_root=tmp_path / "state", out_dir=tmp_path / "out",
        replicas=3, keys=10, users=4, duration_s=12,
    )  # fmt: skip
    lines: list[str] = []
    report = await run_upgrade_scenario(config, lines.append)

    assert report["requests_during_upgrade"] > 0, "the upgrade ran under traffic"
    assert report["requests_after_upgrade"] > 0, "and the traffic outlasted it"
    assert report["failed_requests"] == 0
    assert report["images_after"] == ["lbdemo/catalog:1.1"]
    assert len(report["replaced"]) == 3
    assert all(step["old_id"] != step["new_id"] for step in report["replaced"])
    assert report["pre_upgrade_writes_acknowledged"] == 10
    survived = report["pre_upgrade_writes_survived"]
    assert len(survived) == 3
    expected = 0 if storage == "private" else 10
    assert set(survived.values()) == {expected}
    assert (config.out_dir / f"upgrade-{storage}.md").read_text().startswith("# Rolling upgrade")
    assert ContainerStore(config.state_root).list(all=True) == [], "down removed the containers"
