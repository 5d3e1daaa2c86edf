"""The project's image on a real engine: it builds, and its two roles work together.

One store container (PostgreSQL on a named volume, the shared layout) and one replica container
against it, in one go: the password is demanded, the replica serves a write and its read, the
engine refuses to remove the volume in use, ``docker stop`` is a clean exit, a restarted store
still holds the data, and a store whose PostgreSQL dies exits non-zero (what a restart policy
acts on). Everything a test creates has a unique name and is removed by it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import asyncpg
import pytest

from lbdemo.docker import contract
from lbdemo.docker.image import LABEL_HASH, REPOSITORY, ensure_image, source_root
from tests.utils import eventually

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

REFUSED = (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)


def test_the_image_builds_once_per_source_tree(
    docker_client: DockerClient, lbdemo_image: str, image_state: Path
) -> None:
    image = docker_client.images.get(lbdemo_image)
    assert lbdemo_image.startswith(f"{REPOSITORY}:")
    assert image.labels[LABEL_HASH] == lbdemo_image.rsplit("-", 1)[-1]
    config = image.attrs["Config"]
    assert config["User"] == contract.USER
    assert set(config["ExposedPorts"]) == {
        f"{contract.REPLICA_PORT}/tcp",
        f"{contract.STORE_PORT}/tcp",
    }
    assert config["Cmd"] == ["replica"]
    # Unchanged source: the same tag, nothing built (it answers at once).
    began = time.monotonic()
    again = ensure_image(docker_client, image_state)
    assert again == lbdemo_image
    assert time.monotonic() - began < 5
    # What the containers write is the image user's, PostgreSQL's directory its alone.
    directories = (contract.PGDATA, contract.CATALOG_CONFIG_DIR, contract.CATALOG_LOG_DIR)
    listing = _run(docker_client, lbdemo_image, "stat", "-c", "%U %a %n", *directories)
    assert listing.split("\n") == [
        f"{contract.USER} 700 {contract.PGDATA}",
        f"{contract.USER} 755 {contract.CATALOG_CONFIG_DIR}",
        f"{contract.USER} 755 {contract.CATALOG_LOG_DIR}",
    ]
    # Installed from the wheel (not editable): the Locust workload is package data.
    program = "from lbdemo.load.run import find_locustfile; print(find_locustfile())"
    found = _run(docker_client, lbdemo_image, "python", "-c", program)
    assert found == "/opt/lbdemo/lib/python3.11/site-packages/lbdemo/load/locustfile.py"
    assert source_root().joinpath("Dockerfile").is_file()


async def test_a_store_on_a_named_volume_and_a_replica_against_it(
    docker_client: DockerClient, lbdemo_image: str, tmp_path: Path
) -> None:
    with _resources(docker_client, tmp_path) as made:
        store = made.run(
            lbdemo_image,
            "store",
            name=f"{made.prefix}-db",
            volumes={made.volume: {"bind": contract.PGDATA, "mode": "rw"}},
            ports={f"{contract.STORE_PORT}/tcp": ("127.0.0.1", None)},
        )
        await _ready(store)
        dsn = f"postgresql://postgres@127.0.0.1:{_host_port(store, contract.STORE_PORT)}/postgres"
        conn = await asyncpg.connect(dsn, password=made.password, timeout=10)
        await conn.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(dsn, password="not-" + made.password, timeout=10)
        with pytest.raises(REFUSED):
            await asyncpg.connect(dsn, password="", timeout=10)
        hba = store.exec_run(["cat", f"{contract.PGDATA}/pg_hba.conf"]).output.decode()
        rules = [line.split() for line in hba.splitlines() if line and not line.startswith("#")]
        assert rules and all(rule[-1] == "scram-sha-256" for rule in rules), hba
        assert made.password not in str(store.attrs["Config"]), "only the file's path is shown"

        replica = made.run(
            lbdemo_image,
            "replica",
            "--name",
            "r1",
            name=f"{made.prefix}-r1",
            environment={
                **made.secret_env,
                "LBDEMO_STORE_DSN": f"postgresql://postgres@{made.prefix}-db:{contract.STORE_PORT}/postgres",
            },
            ports={f"{contract.REPLICA_PORT}/tcp": ("127.0.0.1", None)},
        )
        await _ready(replica)
        url = f"http://127.0.0.1:{_host_port(replica, contract.REPLICA_PORT)}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/healthz") as resp:
                assert resp.status == 200 and resp.headers["X-Replica"] == "r1"
            body = {"price": 1200, "write_id": "w-docker-1"}
            async with http.put(f"{url}/products/apple", json=body) as resp:
                assert resp.status in (200, 201), await resp.text()
            async with http.get(f"{url}/products/apple") as resp:
                assert (await resp.json())["write_id"] == "w-docker-1"

        from docker.errors import APIError

        with pytest.raises(APIError) as refused:
            docker_client.volumes.get(made.volume).remove()
        assert refused.value.status_code == 409 and "in use" in str(refused.value)

        # docker stop: SIGTERM, a fast shutdown, status 0 well within Docker's 10 s grace.
        for container in (replica, store):
            began = time.monotonic()
            container.stop(timeout=10)
            container.reload()
            assert container.attrs["State"]["ExitCode"] == 0, container.logs()[-500:]
            assert time.monotonic() - began < 8

        # The same container again: the volume's cluster is reused, the row is there.
        store.start()
        await _ready(store, after=1)
        dsn = f"postgresql://postgres@127.0.0.1:{_host_port(store, contract.STORE_PORT)}/postgres"
        conn = await asyncpg.connect(dsn, password=made.password, timeout=10)
        try:
            kept = await conn.fetchval("SELECT write_id FROM products WHERE id = 'apple'")
            assert kept == "w-docker-1"
        finally:
            await conn.close()

        # PostgreSQL dies: the container's one process exits non-zero, as Docker must see it.
        postmaster = f"{contract.PGDATA}/postmaster.pid"
        store.exec_run(["sh", "-c", f"kill -KILL $(head -n 1 {postmaster})"])

        def exited() -> bool:
            store.reload()
            return bool(store.attrs["State"]["Status"] == "exited")

        await eventually(exited, timeout_s=15)
        assert store.attrs["State"]["ExitCode"] == 1
        assert "PostgreSQL exited on its own" in store.logs().decode()


class _Made:
    """What a test created on the engine, all named with one unique prefix."""

    def __init__(self, client: DockerClient, tmp_path: Path) -> None:
        self.client = client
        self.prefix = f"lbdemo-test-{secrets.token_hex(4)}"
        self.volume = f"{self.prefix}-pgdata"
        self.password = secrets.token_urlsafe(24)
        secret = tmp_path / "pgpassword"
        secret.write_text(self.password + "\n")
        # Readable by the image's user only, as a runtime must hand it over.
        if os.geteuid() == 0:
            os.chown(secret, contract.UID, contract.GID)
            secret.chmod(0o400)
        else:
            secret.chmod(0o444)
        self.secret = secret
        self.secret_env = {contract.PASSWORD_FILE_ENV: contract.PASSWORD_FILE}
        self.containers: list[Container] = []
        self.network = client.networks.create(self.prefix, driver="bridge")
        client.volumes.create(self.volume)

    def run(self, image: str, *command: str, name: str, **options: Any) -> Container:
        volumes = {
            str(self.secret): {"bind": contract.PASSWORD_FILE, "mode": "ro"},
            **options.pop("volumes", {}),
        }
        environment = options.pop("environment", self.secret_env)
        container = self.client.containers.run(
            image,
            list(command),
            name=name,
            detach=True,
            network=self.prefix,
            volumes=volumes,
            environment=environment,
            **options,
        )
        self.containers.append(container)
        return container

    def remove(self) -> None:
        from docker.errors import NotFound

        for container in self.containers:
            with contextlib.suppress(NotFound):
                container.remove(force=True)
        with contextlib.suppress(NotFound):
            self.network.remove()
        with contextlib.suppress(NotFound):
            self.client.volumes.get(self.volume).remove(force=True)


@contextlib.contextmanager
def _resources(client: DockerClient, tmp_path: Path) -> Iterator[_Made]:
    made = _Made(client, tmp_path)
    try:
        yield made
    finally:
        made.remove()


async def _ready(container: Container, after: int = 0) -> None:
    """Until the container's role printed its ready line (the ``after``-th one counts past)."""

    def ready() -> bool:
        container.reload()
        if container.attrs["State"]["Status"] == "exited":
            raise AssertionError(container.logs().decode()[-1000:])
        return container.logs(stderr=False).decode().count('"event": "ready"') > after

    await eventually(ready, timeout_s=60)


def _host_port(container: Container, port: int) -> int:
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"]
    assert all(binding["HostIp"] == "127.0.0.1" for binding in bindings)
    return int(bindings[0]["HostPort"])


def _run(client: DockerClient, image: str, *command: str) -> str:
    """A command in a throwaway container of ``image`` (the entry point runs it as given)."""
    output = client.containers.run(image, list(command), remove=True, stderr=True)
    return bytes(output).decode().strip()


def test_the_base_image_script_does_nothing_when_the_image_exists(
    docker_client: DockerClient, lbdemo_image: str
) -> None:
    from lbdemo.docker.image import LOCAL_BASE

    if not docker_client.images.list(name=LOCAL_BASE):
        pytest.skip(f"the image was built on python:3.11-slim; {LOCAL_BASE} was not needed")
    result = subprocess.run(
        [str(source_root() / "scripts" / "build-base-image"), LOCAL_BASE],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"build-base-image: {LOCAL_BASE} exists; nothing to do\n"
