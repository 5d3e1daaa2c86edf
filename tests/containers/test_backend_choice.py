"""The CLI's one choice of runtime (lbdemo/commands/backend.py) and its one loop over names."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from lbdemo.commands.backend import backend_for, each, elsewhere_on_docker
from lbdemo.deploy.verbs import Refused, Unreachable
from lbdemo.docker.verbs import DockerBackend
from lbdemo.errors import UsageError
from lbdemo.runtime.verbs import LocalBackend


def test_the_runtime_is_chosen_once_and_project_goes_with_docker(tmp_path: Path) -> None:
    local = backend_for(argparse.Namespace(runtime="local", project="lbdemo", state=tmp_path))
    assert isinstance(local, LocalBackend) and local.root == tmp_path.resolve()
    docker = backend_for(argparse.Namespace(runtime="docker", project="p1", state=tmp_path))
    assert isinstance(docker, DockerBackend) and docker.project.name == "p1"
    with pytest.raises(UsageError, match="goes with --runtime docker"):
        backend_for(argparse.Namespace(runtime="local", project="p1", state=tmp_path))


def test_each_prints_what_was_done_goes_on_after_a_refusal_and_stops_when_unreachable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def act(name: str) -> bool | None:
        if name == "refused":
            raise Refused("Error response from daemon: no")
        if name == "gone":
            return False
        if name == "down":
            raise Unreachable("Cannot connect")
        return None

    assert each(["a", "refused", "gone", "b"], act) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("a\nb\n", "Error response from daemon: no\n")
    assert each(["a", "down", "b"], act) == 1
    assert capsys.readouterr() == ("a\n", "Cannot connect\n")


def test_the_runtime_and_project_are_read_from_the_stack_on_the_state_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "run").mkdir()
    described = {"config": {"runtime": "docker", "project": "p7"}}
    (tmp_path / "run" / "stack.json").write_text(json.dumps(described))
    chosen = backend_for(argparse.Namespace(runtime=None, project=None, state=tmp_path))
    assert isinstance(chosen, DockerBackend) and chosen.project.name == "p7"
    # an explicit --runtime wins over the record
    local = backend_for(argparse.Namespace(runtime="local", project=None, state=tmp_path))
    assert isinstance(local, LocalBackend)
    # a verb of the local runtime only: one line naming the docker command, status 2
    args = argparse.Namespace(runtime=None, project=None, state=tmp_path)
    assert elsewhere_on_docker(args, "diff", "docker diff p7-r1") == 2
    assert capsys.readouterr().err == (
        "lbdemo diff acts on lbdemo's own runtime; on Docker run: docker diff p7-r1\n"
    )
    # no stack described: the local runtime
    empty = argparse.Namespace(runtime=None, project=None, state=tmp_path / "none")
    assert isinstance(backend_for(empty), LocalBackend)
    assert elsewhere_on_docker(empty, "diff", "docker diff x") is None
