"""``--runtime docker`` and ``--project``: names, and options refused before anything starts
(no engine needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lbdemo.deploy.names import Project
from tests.utils import run_cli


def test_a_project_names_everything_it_makes() -> None:
    project = Project("lbdemo")
    assert project.replica_name(2) == "lbdemo-r2"
    assert project.store_name == "lbdemo-db"
    assert project.private_store_name("lbdemo-r2") == "lbdemo-db-r2"
    assert project.network == "lbdemo"
    assert project.volume == "lbdemo-pgdata"  # the local runtime's volume name too
    labels = Project("t1").labels("replica")
    assert labels["com.docker.compose.project"] == "t1"
    assert labels["com.docker.compose.service"] == "replica"
    # what `docker compose` made under the same project name is not the stack's
    assert Project("t1").owns({"Labels": labels})
    assert not Project("t1").owns({"Labels": {"com.docker.compose.project": "t1"}})


BAD = [
    ["demo", "--project", "other"],  # a Docker project without --runtime docker
    ["demo", "--runtime", "docker", "--project", "Upper"],
    ["demo", "--runtime", "docker", "--project", "-dash"],
    ["demo", "--runtime", "docker", "--project", "x" * 41],
    ["up", "--runtime", "docker", "--dsn", "postgresql://u@127.0.0.1:1/db"],
    ["up", "--runtime", "docker", "--dashboard", "--dashboard-interval", "0"],
    ["up", "--runtime", "docker", "--storage", "replicated-async"],
    ["up", "--project", "other"],
    ["ps", "--project", "other"],
    ["kill", "--runtime", "docker", "-s", "NOSUCH", "x"],
]


@pytest.mark.parametrize("args", BAD, ids=" ".join)
def test_docker_options_are_refused_before_anything_is_written(
    tmp_path: Path, args: list[str]
) -> None:
    state, out = tmp_path / "state", tmp_path / "out"
    extra = ["--out", str(out)] if args[0] == "demo" else []
    if args[0] == "kill":
        extra, args = args[-1:], args[:-1]
    result = run_cli(*args, "--state", str(state), *extra)
    assert result.status == 2, result
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert not state.exists() and not out.exists()
