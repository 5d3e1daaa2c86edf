"""End to end: ``lbdemo sweep`` over two points of one layout (real Locust, PostgreSQL, replicas
and balancer), its three files, and the model beside each measured point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_results_schemas import problems
from tests.utils import run_cli

pytestmark = pytest.mark.slow


def test_a_two_point_sweep_writes_its_chart_table_and_json(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "sweep",
        "--state",
        str(tmp_path / "state"),
        "--out",
        str(out),
        "--layouts",
        "private",
        "--duration",
        "2",
        "--vary",
        "replicas=2,3",
        "--vary",
        "users=4",  # no think time: two seconds of load are hundreds of operations
    )
    assert result.status == 0, result
    progress = [line for line in result.err.splitlines() if line.startswith("[sweep ")]
    assert progress[0].startswith("[sweep 1/2 replicas=2,users=4] starting; about ")
    assert progress[0].endswith(" left")
    assert sum("done: private" in line for line in progress) == 2

    document = json.loads((out / "sweep.json").read_text())
    assert problems(document) == []
    assert [p["values"]["replicas"] for p in document["points"]] == [2, 3]
    for point in document["points"]:
        (run,) = point["runs"]
        model = run["model"]
        assert model["kind"] == "private round-robin" and model["in_flight"] > 0
        low, high = model["stale_read_rate_low"], model["stale_read_rate_high"]
        assert 0 < low <= model["stale_read_rate"] <= high < 1
        assert (out / run["report"]).is_file(), "each point links its run's report"
        assert point["took_s"] > 2, "a point's wall time includes its two seconds of load"

    stale = [point["runs"][0]["stale_read_rate"] for point in document["points"]]
    assert max(stale) > 0, "private storage serves stale reads"

    markdown = (out / "sweep.md").read_text()
    assert "[private](<replicas=2,users=4/private.md>)" in markdown
    page = (out / "sweep.html").read_text()
    assert page.count("<svg viewBox") == 5  # stale reads with the model, then four small ones
    assert 'stroke-dasharray="8 6"' in page  # the model's curve beside the measured one
    assert 'href="replicas=3,users=4/private.md"' in page
