"""A replica container that cannot reach its store, on the real engine: the error names the
container's own last log line and the cause in words, not only "not healthy"."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from lbdemo.deploy.names import Project
from lbdemo.docker.causes import cause_of
from lbdemo.docker.containers import Engine, published_url
from lbdemo.errors import ProcessError


async def test_a_replica_that_cannot_reach_its_store_says_why(
    docker_client: Any, lbdemo_image: str
) -> None:
    project = Project(f"lbdemo-t{secrets.token_hex(3)}")
    engine = Engine(docker_client)
    await engine.call(engine.create_network, project)
    try:
        # its DSN names a store container that does not exist on the project's network
        container = await engine.call(
            engine.run_replica, project, lbdemo_image, project.replica_name(1), "nowhere", "pw"
        )
        await engine.call(container.reload)
        with pytest.raises(ProcessError) as failed:
            await engine.wait_healthy(container, published_url(container), timeout_s=20)
        said = container.logs(stdout=True, stderr=True).decode().strip().splitlines()
        assert said, "the replica logged nothing"
        message = str(failed.value)
        assert said[-1] in message, (said, message)
        assert "cannot connect to PostgreSQL: " in said[-1]
        assert not said[-1].rstrip().endswith(":"), said  # the error's type, not nothing
        assert "no name resolution between containers" in message, message
    finally:
        await engine.call(engine.remove_project, project)


def test_the_causes_the_project_recognises() -> None:
    assert "name resolution" in str(
        cause_of("cannot connect to PostgreSQL: gaierror: [Errno -2] Name or service not known")
    )
    assert "timed out" in str(cause_of("cannot connect to PostgreSQL: TimeoutError"))
    assert "image is missing" in str(cause_of("No such image: lbdemo/app:nope"))
    assert "port is taken" in str(
        cause_of("Bind for 127.0.0.1:8000 failed: port is already allocated")
    )
    assert cause_of("something else entirely") is None
