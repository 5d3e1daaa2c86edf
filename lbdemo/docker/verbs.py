"""The container commands on the Docker runtime (:class:`~lbdemo.deploy.verbs.Backend`): ``ps``,
``kill``, ``rm``, ``logs`` and ``volume ls|inspect|rm`` through the Engine API, answered as the
local runtime answers so that one printer shows both (Docker's columns, Docker's error lines:
``Error response from daemon: ...``, exit 1).

``ps`` lists the containers of one project (``--project``, default ``lbdemo``); the others act on
whatever the engine calls by the name or id given, as ``docker`` does. A replica killed here
while ``lbdemo up --runtime docker`` runs is seen dying by that stack's supervisor, which applies
its restart policy (docs/lessons.md, lesson 9).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lbdemo.config import STORE_DSN_ENV
from lbdemo.containers.containers import parse_time
from lbdemo.containers.display import created_text, ellipsis, human_duration
from lbdemo.containers.format import Context
from lbdemo.deploy.admin import BalancerAdmin
from lbdemo.deploy.host import stopped_mark
from lbdemo.deploy.names import REPLICA_SERVICE, SERVICE_LABEL, STATE_ROOT_LABEL, Project
from lbdemo.deploy.signals import parse_signal
from lbdemo.deploy.verbs import Refused, Unreachable
from lbdemo.docker.containers import (
    POLL_S,
    READY_TIMEOUT_S,
    Engine,
    engine_says,
    is_catalog,
    ready_lines,
)
from lbdemo.errors import ProcessError, UsageError
from lbdemo.store.secret import load_or_create_secret

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container
    from docker.models.volumes import Volume

PS_FORMAT_REFUSED = "--format with --runtime docker: use the table, or docker ps --format"
VOLUME_LS_REFUSED = "--format and --filter with --runtime docker: use docker volume ls"


def _daemon_error(exc: BaseException) -> Refused:
    return Refused(f"Error response from daemon: {engine_says(exc)}")


@dataclass(frozen=True)
class DockerContainer:
    container: Container

    @property
    def id(self) -> str:
        return str(self.container.id)

    @property
    def short_id(self) -> str:
        return str(self.container.short_id)

    def ps_row(self, now: datetime, no_trunc: bool) -> list[str]:
        c = self.container
        config = c.attrs["Config"]
        command = " ".join([*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])])
        image = config.get("Image") or ""
        return [
            c.id if no_trunc else c.short_id,
            image if no_trunc else ellipsis(config.get("Image", ""), 40),
            f'"{command if no_trunc else ellipsis(command, 20)}"',
            created_text(c.attrs["Created"], now),
            _status(c, now),
            _ports(c),
            c.name,
        ]

    def ps_context(self, now: datetime, trunc: bool) -> Context:
        raise UsageError(PS_FORMAT_REFUSED)


@dataclass(frozen=True)
class DockerVolume:
    volume: Volume

    @property
    def name(self) -> str:
        return str(self.volume.name)

    @property
    def driver(self) -> str:
        return str(self.volume.attrs.get("Driver", "local"))

    def ls_json(self) -> str:
        raise UsageError(VOLUME_LS_REFUSED)

    def context(self) -> Context:
        raise UsageError(VOLUME_LS_REFUSED)


class DockerBackend:
    """The Docker Engine's answers, for one project's ``ps``."""

    def __init__(self, project: str, state_root: Path | None = None) -> None:
        self.project = Project(project)
        self.state_root = state_root  # the stack's, for its balancer and supervisor
        self._client: docker.DockerClient | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            from lbdemo.docker.engine import connect

            self._client = connect()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- containers ------------------------------------------------------------------------

    def check_ps_format(self, fmt: str | None) -> None:
        if fmt not in (None, "", "table"):
            raise UsageError(PS_FORMAT_REFUSED)

    def containers(self, *, all: bool) -> Sequence[DockerContainer]:
        return [DockerContainer(c) for c in self.project.containers(self.client, all=all)]

    def check_signal(self, text: str) -> None:
        parse_signal(text)  # refused here, before the engine is asked

    def kill(self, ref: str, signal: str) -> None:
        name = parse_signal(signal).name
        try:
            self.client.containers.get(ref).kill(signal=name)
        except Exception as exc:
            raise _daemon_error(exc) from None

    def stop(self, ref: str, timeout_s: float) -> None:
        """A replica of the stack drained out of the rotation first, and marked as stopped on
        purpose (:func:`~lbdemo.deploy.host.stopped_mark`) so its supervisor applies no
        restart policy; then ``docker stop``."""
        container = self._get(ref)
        mark = self._stopped_mark(container)
        if mark is not None:
            mark.parent.mkdir(mode=0o700, exist_ok=True)
            mark.touch()
            self._drain(container.name)
        try:
            container.stop(timeout=max(0, round(timeout_s)))
        except Exception as exc:
            if mark is not None:
                mark.unlink(missing_ok=True)
            raise _daemon_error(exc) from None

    def start(self, ref: str) -> None:
        """``docker start``; a replica the stack's ``stop`` stopped joins the rotation again
        once healthy (its supervisor sees the engine's ``start``)."""
        container = self._get(ref)
        try:
            container.start()
        except Exception as exc:
            raise _daemon_error(exc) from None

    def restart(self, ref: str) -> None:
        self.stop(ref, 10.0)
        self.start(ref)

    def upgrade(self, image: str, begin: Callable[[], None]) -> list[dict[str, Any]]:
        """The stack's replicas, one at a time: a new container from ``image`` on the old
        one's store, marked so the stack's supervisor lets it into the rotation once healthy;
        once it is in, the old one drained, stopped and removed."""
        if self.state_root is None:
            raise Refused("Error response from daemon: no stack to upgrade")
        run = self.state_root / "run"
        described = _described(run)
        if described is None:
            raise Unreachable(f"no stack is running on {self.state_root}")
        try:
            stack_image = (described.get("docker") or {}).get("image")
            if is_catalog(image) and stack_image:
                # the demo's lbdemo/catalog:1.1: this stack's image under that name
                self.client.images.get(stack_image).tag(image)
            self.client.images.get(image)
        except Exception as exc:
            raise _daemon_error(exc) from None
        project = Project(self.project.name, str(self.state_root))
        password = load_or_create_secret(self.state_root)
        begin()
        steps = []
        for old_name in [r["name"] for r in described["replicas"]]:
            old = self._get(old_name)
            taken = [c.name for c in project.containers(self.client)]
            new_name = project.next_replica_name(taken)
            dsn = _env(old, STORE_DSN_ENV)
            store = dsn.split("@", 1)[1].split(":", 1)[0] if dsn and "@" in dsn else ""
            mark = stopped_mark(run, new_name)
            mark.parent.mkdir(mode=0o700, exist_ok=True)
            mark.touch()  # the supervisor admits a replica with a mark when it starts
            engine = Engine(self.client)
            # a private store is the old replica's own: the new one gets its own, empty (as
            # a local container's layer), and the old one's goes with it (lesson 9)
            private = store == project.private_store_name(old_name)
            try:
                if private:
                    store = project.private_store_name(new_name)
                    engine.run_store(project, image, store, password, volume=None, replica=new_name)
                    _until_ready(self.client, store)
                new = engine.run_replica(project, image, new_name, store, password)
            except Exception as exc:
                mark.unlink(missing_ok=True)
                raise _daemon_error(exc) from None
            _until(run, new_name)
            self.stop(old_name, 10.0)
            old.remove(force=True)
            if private:
                engine.remove_container(project.private_store_name(old_name))
            stopped_mark(run, old_name).unlink(missing_ok=True)
            steps.append(
                {
                    "old": old_name,
                    "old_id": old.id,
                    "old_image": old.attrs["Config"]["Image"],
                    "new": new_name,
                    "new_id": new.id,
                    "new_image": image,
                }
            )
        return steps

    def _get(self, ref: str) -> Container:
        try:
            return self.client.containers.get(ref)
        except Exception as exc:
            raise _daemon_error(exc) from None

    def _stopped_mark(self, container: Container) -> Path | None:
        """Where to mark a replica of this state root's stack as stopped on purpose; None for
        any other container (a store, another project's)."""
        labels = container.labels or {}
        if self.state_root is None or labels.get(SERVICE_LABEL) != REPLICA_SERVICE:
            return None
        if labels.get(STATE_ROOT_LABEL) != str(self.state_root):
            return None
        return stopped_mark(self.state_root / "run", container.name)

    def _drain(self, name: str) -> None:
        """Out of the balancer's rotation, its in-flight requests finished (the stack's
        balancer, named by its ``stack.json``); a stack without one is nothing to drain."""
        assert self.state_root is not None
        run = self.state_root / "run"
        try:
            described = json.loads((run / "stack.json").read_text())
            admin_url = described["balancer"]["admin_url"]
            token = (run / "admin-token").read_text().strip()
        except (OSError, ValueError, KeyError, TypeError):
            return

        async def drain() -> None:
            admin = BalancerAdmin(admin_url, token)
            try:
                await admin.drain(name, wait=True)
            finally:
                await admin.close()

        try:
            asyncio.run(drain())
        except ProcessError as exc:
            raise Refused(f"Error response from daemon: cannot drain {name}: {exc}") from None

    def remove(self, ref: str, *, force: bool, volumes: bool) -> bool:
        import docker

        try:
            self.client.containers.get(ref).remove(force=force, v=volumes)
        except docker.errors.NotFound as exc:
            if force:  # docker rm -f: a container that is already gone is no error
                return False
            raise _daemon_error(exc) from None
        except docker.errors.APIError as exc:
            raise _daemon_error(exc) from None
        return True

    def logs(
        self, ref: str, tail: int | None, follow_output: bool, write: Callable[[bytes], None]
    ) -> None:
        import docker

        try:
            container = self.client.containers.get(ref)
        except docker.errors.NotFound as exc:
            raise _daemon_error(exc) from None
        kwargs: dict[str, Any] = {"tail": "all" if tail is None else tail}
        if not follow_output:
            write(container.logs(**kwargs))
            return
        for chunk in container.logs(stream=True, follow=True, **kwargs):
            write(chunk)

    def inspect(self, ref: str) -> dict[str, Any] | None:
        """``docker inspect REF``'s object: a container, else an image, else a volume (the
        engine's own JSON); None when the engine knows none of that name."""
        import docker

        api = self.client.api
        for look in (api.inspect_container, api.inspect_image, api.inspect_volume):
            try:
                return dict(look(ref))
            except docker.errors.NotFound:
                continue
            except docker.errors.APIError as exc:
                raise _daemon_error(exc) from None
        return None

    def diff(self, ref: str) -> list[tuple[str, str]]:
        """``docker diff REF``: the engine's changes to the container's layer, as
        (``A``/``C``/``D``, path), sorted by path."""
        import docker

        try:
            changes = self.client.api.diff(ref) or []
        except docker.errors.APIError as exc:
            raise _daemon_error(exc) from None
        kinds = {0: "C", 1: "A", 2: "D"}  # the Engine API's Kind
        return sorted((kinds.get(c["Kind"], "?"), c["Path"]) for c in changes)

    # -- volumes ---------------------------------------------------------------------------

    def check_volume_ls(self, fmt: str | None, filters: Sequence[str]) -> None:
        if fmt not in (None, "", "table") or filters:
            raise UsageError(VOLUME_LS_REFUSED)

    def volumes(self, filters: Sequence[str]) -> Sequence[DockerVolume]:
        return [DockerVolume(v) for v in sorted(self.client.volumes.list(), key=lambda v: v.name)]

    def volume_inspect(self, name: str) -> dict[str, Any] | None:
        import docker

        try:
            return dict(self.client.api.inspect_volume(name))
        except docker.errors.NotFound:
            return None

    def remove_volume(self, name: str, *, force: bool) -> None:
        """The engine decides: a volume a container uses is refused, in the engine's words."""
        import docker

        try:
            self.client.api.remove_volume(name, force=force)
        except docker.errors.APIError as exc:
            raise _daemon_error(exc) from None


JOIN_TIMEOUT_S = 90.0  # a new replica container: started, healthy, admitted


def _described(run: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run / "stack.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _in_rotation(run: Path) -> list[str]:
    described = _described(run) or {}
    return [str(r.get("name")) for r in described.get("replicas", [])]


def _until(run: Path, name: str) -> None:
    """Until the stack's ``stack.json`` lists ``name`` in the rotation."""
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    while name not in _in_rotation(run):
        if time.monotonic() > deadline:
            raise Refused(
                f"Error response from daemon: {name} did not join within {JOIN_TIMEOUT_S:.0f} s"
            )
        time.sleep(0.2)


def _until_ready(client: docker.DockerClient, name: str) -> None:
    """Until the store container ``name`` printed its ready line (its server listens)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while ready_lines(client.containers.get(name)) < 1:
        if time.monotonic() > deadline:
            raise Refused(f"Error response from daemon: {name} was not ready in time")
        time.sleep(POLL_S)


def _env(container: Container, key: str) -> str | None:
    for item in container.attrs["Config"].get("Env") or []:
        name, _, value = str(item).partition("=")
        if name == key:
            return value
    return None


def _status(container: Container, now: datetime) -> str:
    """``docker ps``'s STATUS column from the engine's state."""
    state = container.attrs["State"]

    def since(field: str) -> str:
        when = parse_time(state.get(field, ""))
        return human_duration((now - when).total_seconds() if when else 0.0)

    if state.get("Running"):
        return f"Up {since('StartedAt')}"
    if parse_time(state.get("FinishedAt", "")) is not None:
        return f"Exited ({state.get('ExitCode')}) {since('FinishedAt')} ago"
    return "Created"


def _ports(container: Container) -> str:
    """``127.0.0.1:32768->8000/tcp`` for a published port, ``5432/tcp`` for one that is not."""
    shown = []
    for port, bindings in sorted((container.attrs["NetworkSettings"].get("Ports") or {}).items()):
        if bindings:
            shown += [f"{b['HostIp']}:{b['HostPort']}->{port}" for b in bindings]
        else:
            shown.append(port)
    return ", ".join(shown)
