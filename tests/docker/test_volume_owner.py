"""A named volume made by another state root's stack is not taken over unasked (issue 21,
item 5): its ``io.lbdemo.state-root`` label was written, never checked, and a second stack
rewrote that database's password. Real engine (tests/docker/conftest.py); no image needed."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from lbdemo.deploy.names import STATE_ROOT_LABEL, Project
from lbdemo.docker.containers import Engine
from lbdemo.errors import StateError

if TYPE_CHECKING:
    from docker import DockerClient


@pytest.fixture
def volume(docker_client: DockerClient) -> Iterator[str]:
    name = f"lbdemo-test-{uuid.uuid4().hex[:8]}-pgdata"
    try:
        yield name
    finally:
        import docker

        with contextlib.suppress(docker.errors.NotFound):
            docker_client.volumes.get(name).remove(force=True)


def test_a_volume_of_another_state_root_is_refused_naming_it(
    docker_client: DockerClient, volume: str
) -> None:
    engine = Engine(docker_client)
    first = Project("lbdemo", state_root="/srv/first-state")
    second = Project("lbdemo", state_root="/srv/second-state")
    engine.ensure_volume(first, volume)
    assert docker_client.volumes.get(volume).attrs["Labels"][STATE_ROOT_LABEL] == (
        "/srv/first-state"
    )
    with pytest.raises(StateError) as refused:
        engine.ensure_volume(second, volume)
    message = str(refused.value)
    assert "/srv/first-state" in message and volume in message and "--adopt-volume" in message
    assert "\n" not in message
    engine.ensure_volume(first, volume)  # its own state root: used as it is
    engine.ensure_volume(second, volume, adopt=True)  # asked for: taken over


def test_a_volume_without_lbdemos_label_is_used_as_it_is(
    docker_client: DockerClient, volume: str
) -> None:
    docker_client.volumes.create(volume)  # `docker volume create`, by hand
    Engine(docker_client).ensure_volume(Project("lbdemo", state_root="/srv/x"), volume)
