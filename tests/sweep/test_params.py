"""``--vary``: the table of parameters, parsing, the points, and refusals before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from lbdemo.errors import UsageError
from lbdemo.sweep.params import PARAMETERS, demo_words, parse_vary, point_name, points
from tests.utils import run_cli


def test_every_parameter_names_an_option_of_lbdemo_demo() -> None:
    result = run_cli("demo", "--help")
    for parameter in PARAMETERS.values():
        assert parameter.option in result.out, parameter.name


def test_values_parse_by_type_in_the_order_given() -> None:
    axes = parse_vary(["replicas=5, 2,3", "write_ratio=0.1,.5", "strategy=random"])
    assert [a.name for a in axes] == ["replicas", "write_ratio", "strategy"]
    assert axes[0].values == (5, 2, 3) and axes[1].values == (0.1, 0.5)
    assert axes[2].values == ("random",)


def test_points_are_the_product_the_last_axis_fastest() -> None:
    grid = points(parse_vary(["replicas=2,3", "users=10,50"]))
    assert grid == [
        {"replicas": 2, "users": 10},
        {"replicas": 2, "users": 50},
        {"replicas": 3, "users": 10},
        {"replicas": 3, "users": 50},
    ]
    assert point_name(grid[1]) == "replicas=2,users=50"
    assert demo_words(grid[1]) == ["--replicas", "2", "--users", "50"]
    assert demo_words({"think_time": 5.0, "apply_delay": 20}) == [
        "--think-time", "5.0", "--apply-delay", "20"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("texts", "says"),
    [
        ([], "at least one --vary"),
        (["replicas"], "expected NAME=V1,V2"),
        (["colour=red"], "not a sweep parameter"),
        (["replicas=2,,3"], "an empty value"),
        (["replicas=2.5"], "'2.5' is not a whole number"),
        (["write_ratio=lots"], "not a number"),
        (["write_ratio=nan"], "not a number"),
        (["strategy=fastest"], "one of round-robin"),
        (["replicas=2,2"], "listed twice"),
        (["replicas=2", "replicas=3"], "given twice"),
        (
            [
                "replicas=" + ",".join(map(str, range(1, 10))),
                "users=" + ",".join(map(str, range(1, 9))),
            ],
            "at most 64",
        ),
    ],
)
def test_bad_vary_is_one_usage_error(texts: list[str], says: str) -> None:
    with pytest.raises(UsageError, match=says):
        parse_vary(texts)


@pytest.mark.parametrize(
    "args",
    [
        ["--vary", "replicas=two"],
        ["--vary", "replicas=0,3"],  # the demo's own check, for every point before the first
        ["--vary", "write_ratio=0.5,1.5"],
        ["--vary", "apply_delay=10"],  # replicated-async is not among the layouts
        ["--vary", "replicas=2", "--duration", "0"],
        ["--vary", "replicas=2", "--layouts", "private,shared-datadir"],
    ],
    ids=" ".join,
)
def test_sweep_refuses_in_one_line_and_runs_nothing(tmp_path: Path, args: list[str]) -> None:
    state, out = tmp_path / "state", tmp_path / "out"
    result = run_cli("sweep", "--state", str(state), "--out", str(out), *args)
    assert result.status == 2, result
    assert result.out == "" and len(result.err.splitlines()) == 1, result
    assert "Traceback" not in result.err
    assert not state.exists() and not out.exists()
