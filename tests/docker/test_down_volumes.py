"""``lbdemo down -v`` on a Docker stack removes the engine's volume, as ``docker compose down
-v`` does, not a volume of lbdemo's own runtime that happens to share its name."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any

import docker
import pytest

from lbdemo.deploy.names import Project
from tests.utils import run_cli_process

pytestmark = pytest.mark.docker


def test_down_v_on_the_docker_runtime_removes_the_engines_volume(
    docker_client: Any, tmp_path: Path
) -> None:
    project = Project(f"lbdemo-t{secrets.token_hex(3)}")
    docker_client.volumes.create(name=project.volume)
    try:
        down = run_cli_process(
            tmp_path / "state", "down", "-v", "--runtime", "docker", "--project", project.name
        )
        assert down.returncode == 0, down.stderr
        assert f"removed volume {project.volume}" in down.stdout
        with pytest.raises(docker.errors.NotFound):
            docker_client.volumes.get(project.volume)
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.volumes.get(project.volume).remove(force=True)
