"""``lbdemo demo --target URL --replica-urls ...``: the same workload, audit and reports against a
deployment lbdemo did not start (here: real stacks started beside it), and its options refused
before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lbdemo.deploy.target import Target
from lbdemo.errors import UsageError
from tests.utils import THINK_MS, assert_demo_refused, run_cli_async, running_stack

BAD = [
    ["--target", "http://127.0.0.1:1"],  # no --replica-urls
    ["--replica-urls", "http://127.0.0.1:2"],  # no --target
    ["--target", "ftp://127.0.0.1:1", "--replica-urls", "http://127.0.0.1:2"],
    ["--target", "http://127.0.0.1:99999", "--replica-urls", "http://127.0.0.1:2"],
    ["--target", "http://127.0.0.1:1/x", "--replica-urls", "http://127.0.0.1:2"],
    ["--target", "http://127.0.0.1:1", "--replica-urls", "http://127.0.0.1:2,http://127.0.0.1:2"],
    ["--target", "http://127.0.0.1:1", "--replica-urls", "http://127.0.0.1:1"],
    ["--target", "http://127.0.0.1:1", "--replica-urls", "http://127.0.0.1:2"],  # two layouts
    ["--target", "http://127.0.0.1:1", "--replica-urls", "http://[::1", "--layouts", "shared"],
    [
        "--target",
        "http://127.0.0.1:1",
        "--replica-urls",
        "http://127.0.0.1:2",
        "--layouts",
        "shared",
        "--scenario",
        "upgrade",
    ],
    [
        "--target",
        "http://127.0.0.1:1",
        "--replica-urls",
        "http://127.0.0.1:2",
        "--layouts",
        "replicated-sync",
    ],
    [
        "--target",
        "http://127.0.0.1:1",
        "--replica-urls",
        "http://127.0.0.1:2",
        "--layouts",
        "shared",
        "--runtime",
        "docker",
    ],
    [
        "--target",
        "http://127.0.0.1:1",
        "--replica-urls",
        "http://127.0.0.1:2",
        "--layouts",
        "shared",
        "--dashboard",
    ],
    ["--runtime", "kubernetes"],
    ["--runtime", "docker", "--layouts", "replicated-async"],
]


@pytest.mark.parametrize("args", BAD, ids=" ".join)
def test_target_options_are_refused_before_anything_is_written(
    tmp_path: Path, args: list[str]
) -> None:
    assert_demo_refused(tmp_path, *args)


def test_target_keeps_the_urls_it_was_given_without_a_trailing_slash() -> None:
    target = Target("http://127.0.0.1:8080/", ("http://127.0.0.1:9001/", " http://h:9002"))
    assert target.url == "http://127.0.0.1:8080"
    assert target.replica_urls == ("http://127.0.0.1:9001", "http://h:9002")
    with pytest.raises(UsageError):
        Target.from_options(None, "http://127.0.0.1:9001")


async def test_a_target_that_does_not_answer_is_an_error_and_nothing_is_reported(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = await run_cli_async(
        "demo",
        "--state",
        str(tmp_path / "state"),
        "--out",
        str(out),
        "--layouts",
        "shared",
        "--target",
        "http://127.0.0.1:9",
        "--replica-urls",
        "http://127.0.0.1:7",
    )
    assert result.status == 2, result
    assert "not reachable" in result.err and "Traceback" not in result.err
    assert not (out / "shared.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("storage", "verdict"), [("private", "inconsistent"), ("shared", "consistent")]
)
async def test_demo_against_a_running_deployment_shows_the_same_contrast(
    tmp_path: Path, storage: str, verdict: str
) -> None:
    out = tmp_path / "out"
    async with running_stack(tmp_path / "deployment", storage=storage) as stack:
        urls = ",".join(r.url for r in stack.replicas)
        names = sorted(r.name for r in stack.replicas)
        result = await run_cli_async(
            "demo",
            "--state",
            str(tmp_path / "state"),
            "--out",
            str(out),
            "--target",
            stack.url,
            "--replica-urls",
            urls,
            "--layouts",
            storage,
            "--duration",
            "3",
            "--users",
            "8",
            "--think-time",
            str(THINK_MS),
        )
        assert len(stack.replicas) == 3, "lbdemo leaves a target running"
    assert result.status == 0, result
    report = json.loads((out / f"{storage}.json").read_text())
    assert report["run"]["layout"]["runtime"] == "target"
    assert "lbdemo only loaded and audited it" in report["run"]["layout"]["summary"]
    assert "volume" not in report["run"]["layout"]
    assert report["verdict"] == verdict
    # every replica audited under the name it answers as (and serves as: X-Replica)
    assert sorted(r["replica"] for r in report["replicas"]) == names
    assert all(r["rows"] > 0 for r in report["replicas"])
    assert report["totals"]["ops"] > 100
