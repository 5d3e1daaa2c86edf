"""The Docker runtime's engine calls: network, volume, store and replica containers.

The ``docker`` package blocks, so every call runs in a worker thread (:meth:`Engine.call`).
Such a call cannot be cancelled halfway: a Ctrl-C during start-up would otherwise leave a
container the engine was still creating. So each call is shielded and remembered, and
:meth:`Engine.settle` waits for those still under way before the stack removes what it made.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import tarfile
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from lbdemo.config import STORE_DSN_ENV
from lbdemo.deploy.names import (
    PRIVATE_STORE_OF_LABEL,
    REPLICA_SERVICE,
    SERVICE_LABEL,
    STATE_ROOT_LABEL,
    STORE_SERVICE,
    Project,
)
from lbdemo.docker import contract
from lbdemo.docker.causes import cause_of, with_cause
from lbdemo.errors import ProcessError, StateError
from lbdemo.process.ready import parse_ready_line
from lbdemo.store.embedded import SUPERUSER

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

T = TypeVar("T")
READY_TIMEOUT_S = 60.0  # a first start runs initdb in the container
HEALTH_TIMEOUT_S = 30.0
POLL_S = 0.1
STATUS_EVERY_S = 1.0  # how often a replica not yet healthy is asked whether it exited
REPLICA_STOP_S = 5
STORE_STOP_S = 10  # PostgreSQL's fast shutdown, so a volume's cluster is left clean


class Engine:
    """One client of the engine, its calls off the event loop."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self._inflight: set[asyncio.Future[Any]] = set()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a worker thread; the engine's refusals as one-line
        ProcessErrors (what the engine said: no such image, name in use, ...)."""
        import docker

        task = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        try:
            return await asyncio.shield(task)
        except docker.errors.DockerException as exc:
            said = engine_says(exc)
            cause = cause_of(said)
            raise ProcessError(f"docker: {said}" + (f" ({cause})" if cause else "")) from None

    async def settle(self) -> None:
        """Until every call already made has finished (its outcome is not ours to raise)."""
        if self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    # -- the project -------------------------------------------------------------------------

    def remove_project(self, project: Project, *, graceful: bool = False) -> None:
        """Every container of the project, then its network (a volume stays). ``graceful``:
        ``docker stop`` first, replicas before stores; otherwise straight ``rm -f`` (leftovers
        of a run that was killed: nothing in them is worth a clean shutdown)."""
        import docker

        containers = project.containers(self.client)
        if graceful:
            replicas = [c for c in containers if _service(c) == REPLICA_SERVICE]
            others = [c for c in containers if _service(c) != REPLICA_SERVICE]
            for group, timeout in ((replicas, REPLICA_STOP_S), (others, STORE_STOP_S)):
                _each(lambda c, t=timeout: c.stop(timeout=t), group)  # type: ignore[misc]
        _each(lambda c: c.remove(force=True), containers)
        for network in self.client.networks.list(names=[project.network]):
            if network.name == project.network and project.owns(network.attrs):
                with contextlib.suppress(docker.errors.NotFound):
                    network.remove()

    def remove_container(self, name: str) -> None:
        """``docker rm -f NAME``, its layer with it; one already gone is no failure."""
        import docker

        with contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(name).remove(force=True)

    def create_network(self, project: Project) -> None:
        """The project's bridge: containers on it find each other by name (Docker's DNS)."""
        import docker

        try:
            self.client.networks.create(
                project.network, driver="bridge", labels=project.labels("network")
            )
        except docker.errors.APIError as exc:
            raise StateError(
                f"cannot create the network {project.network}: {exc.explanation or exc} "
                "(a network of that name that is not lbdemo's? choose another --project)"
            ) from None

    def ensure_volume(self, project: Project, name: str, *, adopt: bool = False) -> None:
        """The named volume, made if missing (labelled as compose would); an existing one is
        used as it is (its data is the point), unless another state root's stack made it: then
        refused in one line naming that state root, unless ``adopt`` (``--adopt-volume``).
        Taking it over would rewrite that database's password. A volume without lbdemo's
        label (made by hand) is the user's choice, used as it is."""
        import docker

        try:
            volume = self.client.volumes.get(name)
        except docker.errors.NotFound:
            labels = {**project.labels(STORE_SERVICE), "com.docker.compose.volume": name}
            self.client.volumes.create(name, labels=labels)
            return
        owner = (volume.attrs.get("Labels") or {}).get(STATE_ROOT_LABEL)
        if owner and project.state_root and owner != project.state_root and not adopt:
            raise StateError(
                f"the volume {name} holds the database of the stack of {owner} (its label "
                f"{STATE_ROOT_LABEL}); give this stack another --project, or pass "
                "--adopt-volume to take it over (its database's password is rewritten)"
            )

    # -- containers --------------------------------------------------------------------------

    def run_store(
        self,
        project: Project,
        image: str,
        name: str,
        password: str,
        *,
        volume: str | None,
        replica: str | None = None,
    ) -> Container:
        """A store container, started: PostgreSQL on the volume, or (no volume) in its layer."""
        labels = project.labels(STORE_SERVICE)
        if replica is not None:
            labels[PRIVATE_STORE_OF_LABEL] = replica
        container = self.client.containers.create(
            image,
            ["store"],
            name=name,
            hostname=name,
            labels=labels,
            network=project.network,
            environment={contract.PASSWORD_FILE_ENV: contract.PASSWORD_FILE},
            volumes={volume: {"bind": contract.PGDATA, "mode": "rw"}} if volume else None,
        )
        put_secret(container, password)
        container.start()
        return container

    def run_replica(
        self,
        project: Project,
        image: str,
        name: str,
        store: str,
        password: str,
        binds: Sequence[str] = (),
    ) -> Container:
        """A replica container, started, its port 8000 published on 127.0.0.1 only; ``binds``:
        ``-v HOST:PATH[:ro]`` specs."""
        dsn = f"postgresql://{SUPERUSER}@{store}:{contract.STORE_PORT}/postgres"
        # a lbdemo/catalog:X replica answers as that version (1.1's currency), as locally
        told = ["--image", image] if is_catalog(image) else []
        container = self.client.containers.create(
            image,
            ["replica", "--name", name, *told],
            name=name,
            hostname=name,
            labels=project.labels(REPLICA_SERVICE),
            network=project.network,
            environment={STORE_DSN_ENV: dsn, contract.PASSWORD_FILE_ENV: contract.PASSWORD_FILE},
            ports={f"{contract.REPLICA_PORT}/tcp": ("127.0.0.1", None)},
            volumes=list(binds) or None,
        )
        put_secret(container, password)
        container.start()
        return container

    def recreate(self, dead: Container, password: str) -> Container:
        """``replace``: a new container from the dead one's image, command, environment,
        labels, network and ports, under its name; the dead one (and its layer) removed."""
        config, host = dead.attrs["Config"], dead.attrs["HostConfig"]
        dead.remove(force=True)
        ports = {
            p: ("127.0.0.1", None)
            for p in (config.get("ExposedPorts") or {})
            if p in (host.get("PortBindings") or {})
        }
        container = self.client.containers.create(
            config["Image"],
            config.get("Cmd"),
            name=dead.name,
            hostname=config.get("Hostname"),
            labels=config.get("Labels"),
            network=host.get("NetworkMode"),
            environment=config.get("Env"),
            ports=ports or None,
            # its -v binds too: a bind-mounted config outlives the container (the pets lesson)
            volumes=host.get("Binds") or None,
        )
        put_secret(container, password)
        container.start()
        return container

    async def wait_store_ready(self, name: str, *, after: int = 0) -> Container:
        """Until the store container's log has more than ``after`` ready lines (its server
        listens): it prints one at every start, as every lbdemo server does."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            container = await self.call(self.client.containers.get, name)
            if await self.call(ready_lines, container) > after:
                return container
            if container.status in ("exited", "dead"):
                tail = await self.call(log_tail, container)
                raise ProcessError(with_cause(f"{name} exited before it was ready", tail))
            if time.monotonic() > deadline:
                raise ProcessError(f"{name} was not ready within {READY_TIMEOUT_S:.0f} s")
            await asyncio.sleep(POLL_S)

    async def wait_healthy(
        self, container: Container, url: str, *, timeout_s: float | None = None
    ) -> None:
        """Until ``/healthz`` answers 200 through the published port (the engine accepts on that
        port before the replica listens: a reset then is not an answer). A container that
        exits, or does not answer in time, is a ProcessError carrying its last log lines and
        the cause in words when one is recognised (:mod:`lbdemo.docker.causes`)."""
        limit = HEALTH_TIMEOUT_S if timeout_s is None else timeout_s
        deadline = time.monotonic() + limit
        next_look = time.monotonic() + STATUS_EVERY_S
        name = container.name
        last = "no answer"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while time.monotonic() < deadline:
                try:
                    async with http.get(f"{url}/healthz") as response:
                        if response.status == 200:
                            return
                        last = f"HTTP {response.status}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    last = str(exc) or type(exc).__name__
                if time.monotonic() >= next_look:  # an engine call: not at every poll
                    next_look = time.monotonic() + STATUS_EVERY_S
                    await self.call(container.reload)
                    if container.status in ("exited", "dead"):
                        code = container.attrs.get("State", {}).get("ExitCode")
                        said = await self.call(log_tail, container)
                        raise ProcessError(
                            with_cause(f"{name} exited (status {code}) before it was healthy", said)
                        )
                await asyncio.sleep(POLL_S)
        said = await self.call(log_tail, container)
        raise ProcessError(
            with_cause(f"{name} is not healthy at {url} after {limit:.0f} s: {last}", said)
        )


def one_file_tar(name: str, data: bytes) -> bytes:
    """A tar of one file ``name`` (what ``docker cp`` sends to ``put_archive``), owned by the
    image's user as the file it replaces, so the replica can read it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid = len(data), 0o644, contract.UID, contract.GID
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def put_secret(container: Container, password: str) -> None:
    """The password as ``/run/secrets/pgpassword`` in the created container, owned by the
    image's user, mode 0400: ``$LBDEMO_STORE_PASSWORD_FILE`` names it to both roles. Copied in
    through the Engine API (so it works with a remote engine too, where a bind mount of a host
    file would not), it is in no environment ``docker inspect`` shows; whoever can read it from
    the container's layer controls the engine anyway."""
    data = (password + "\n").encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        directory = tarfile.TarInfo(contract.PASSWORD_FILE.rsplit("/", 1)[0].lstrip("/"))
        directory.type, directory.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(directory)
        info = tarfile.TarInfo(contract.PASSWORD_FILE.lstrip("/"))
        info.size, info.mode, info.uid, info.gid = len(data), 0o400, contract.UID, contract.GID
        tar.addfile(info, io.BytesIO(data))
    if not container.put_archive("/", buffer.getvalue()):
        raise ProcessError(f"could not copy the store password into {container.name}")


def engine_says(exc: BaseException) -> str:
    """The engine's own words for a refusal, on one line."""
    explanation = getattr(exc, "explanation", None)
    text = str(explanation or exc).strip() or type(exc).__name__
    return text.splitlines()[0]


CATALOG_REPOSITORY = "lbdemo/catalog"


def is_catalog(image: str) -> bool:
    """``lbdemo/catalog:X``: the names the demo's steps use for the replica's versions (the
    local runtime's built-in images). On the engine each is the project's own image, tagged
    under that name when an upgrade asks for it, and its replicas are told which one they run."""
    return image.startswith(CATALOG_REPOSITORY + ":")


def published_url(container: Container) -> str:
    """``http://127.0.0.1:PORT`` of the replica port as published (attrs freshly reloaded)."""
    ports = container.attrs["NetworkSettings"]["Ports"] or {}
    bindings = ports.get(f"{contract.REPLICA_PORT}/tcp") or []
    if not bindings:
        raise ProcessError(f"{container.name} publishes no port {contract.REPLICA_PORT}")
    return f"http://127.0.0.1:{bindings[0]['HostPort']}"


def container_pid(container: Container) -> int:
    return int(container.attrs.get("State", {}).get("Pid") or 0)


def ready_lines(container: Container) -> int:
    lines = container.logs(stdout=True, stderr=False).splitlines()
    return sum(1 for line in lines if parse_ready_line(line) is not None)


def log_tail(container: Container, lines: int = 3) -> str:
    text = container.logs(stdout=True, stderr=True, tail=lines).decode(errors="replace")
    return " | ".join(line for line in text.strip().splitlines()) or "(no output)"


def _service(container: Container) -> str:
    return str((container.labels or {}).get(SERVICE_LABEL, ""))


def _each(action: Callable[[Container], Any], containers: list[Container]) -> None:
    """``action`` on every container at once (each a blocking engine call); one that is
    already gone is no failure."""
    import concurrent.futures

    import docker

    def one(container: Container) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            action(container)

    if not containers:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(containers))) as pool:
        for future in [pool.submit(one, c) for c in containers]:
            future.result()
