"""The CLI's one choice of runtime (lbdemo/commands/backend.py) and its one loop over names."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from lbdemo.commands.backend import backend_for, each
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
