"""A real Docker Engine for the tests that need one, and the project's image built on it.

``docker_client`` (session): a client of the engine that answers; if none does and ``dockerd``
is installed and we are root, a ``dockerd`` started here (its log under the session's temporary
root) and stopped by pid at the end of the session; with no ``dockerd`` at all, every test that
needs it is skipped with a message saying what to install (``scripts/ensure-docker``, which
``make test`` runs, installs it where it can).

``lbdemo_image`` (session): the tag of the project's image, built once per source tree (on
``python:3.11-slim`` if the engine has it, else on ``lbdemo/base:bookworm``, made first by
``scripts/build-base-image`` when neither is there). Its build cache (the wheelhouse) lives in
pytest's own cache directory, so a later session with a changed source rebuilds in seconds.

Every test that uses ``docker_client`` (directly or through ``lbdemo_image``) is marked
``docker``, so ``pytest -m "not docker"`` leaves them all out.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from lbdemo.docker.engine import NoEngineError, connect
from lbdemo.docker.image import LOCAL_BASE, REGISTRY_BASE, ensure_image
from lbdemo.errors import StateError
from lbdemo.process.spawn import Child, spawn

if TYPE_CHECKING:
    from docker import DockerClient

REPO = Path(__file__).resolve().parents[2]
DOCKERD_READY_S = 60.0
DOCKERD_STOP_S = 30.0
BASE_IMAGE_TIMEOUT_S = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "docker_client" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)


@pytest_asyncio.fixture(scope="session")
async def docker_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DockerClient]:
    dockerd: Child | None = None
    try:
        client = connect()
    except NoEngineError as exc:
        dockerd = await _start_dockerd(tmp_path_factory.mktemp("dockerd") / "dockerd.log", exc)
        try:
            client = await _wait_for_engine(dockerd)
        except BaseException:
            await dockerd.stop(signal.SIGTERM, timeout_s=DOCKERD_STOP_S)
            raise
    try:
        yield client
    finally:
        client.close()
        if dockerd is not None:
            await dockerd.stop(signal.SIGTERM, timeout_s=DOCKERD_STOP_S)


async def _start_dockerd(log: Path, why: NoEngineError) -> Child:
    binary = shutil.which("dockerd")
    if binary is None:
        pytest.skip("no Docker engine: install docker.io (scripts/ensure-docker does, as root)")
    if os.geteuid() != 0:
        pytest.skip(f"{why}; dockerd is installed, but only root may start it")
    # The safety net of spawn(): dockerd gets SIGTERM should this session be killed.
    return await spawn("dockerd", [binary], log_path=log, wait_ready=False)


async def _wait_for_engine(dockerd: Child) -> DockerClient:
    deadline = time.monotonic() + DOCKERD_READY_S
    while True:
        try:
            return connect()
        except NoEngineError:
            if not dockerd.running or time.monotonic() > deadline:
                tail = dockerd.log_path.read_text(errors="replace").strip().splitlines()[-3:]
                pytest.skip(f"dockerd did not come up: {' | '.join(tail)}")
            await asyncio.sleep(0.2)


@pytest.fixture(scope="session")
def image_state(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state root the image is built from: pytest's cache directory, kept between sessions
    (a session's own temporary one under ``-p no:cacheprovider``)."""
    cache = getattr(pytestconfig, "cache", None)  # absent under -p no:cacheprovider
    if cache is None:
        return tmp_path_factory.mktemp("docker-state")
    return Path(cache.mkdir("lbdemo-docker-state"))


@pytest.fixture(scope="session")
def lbdemo_image(docker_client: DockerClient, image_state: Path) -> str:
    _ensure_base_image(docker_client)
    return ensure_image(docker_client, image_state)


def _ensure_base_image(client: DockerClient) -> None:
    from lbdemo.docker.image import choose_base

    try:
        choose_base(client)
        return
    except StateError:
        pass  # neither python:3.11-slim nor lbdemo/base:bookworm: make the local one
    script = REPO / "scripts" / "build-base-image"
    result = subprocess.run(
        [str(script), LOCAL_BASE],
        capture_output=True,
        text=True,
        timeout=BASE_IMAGE_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(
            f"no base image ({REGISTRY_BASE} cannot be pulled here) and "
            f"scripts/build-base-image failed: {last}"
        )
