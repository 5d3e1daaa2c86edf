"""The Docker runtime's supervisor: lbdemo's restart policies applied from the engine's ``die``
events.

Docker's own ``--restart always`` does not restart a container after ``docker kill`` (an
explicit kill counts as a manual stop; verified on the engine and described in
docs/lessons.md), so the stack's containers get no Docker policy at all and this supervisor
applies lbdemo's (:mod:`lbdemo.deploy.restart`, as the local runtime does), the way Swarm
applies a service's restart policy to its tasks:

* every replica that dies leaves the balancer's rotation at once;
* ``always``: the *same* container is started again (same id, its writable layer kept), and
  joins the rotation again at its new published port once healthy;
* ``replace``: the dead container is removed with its layer and a new one (new id, empty layer)
  from the same image takes its name, then joins. With ``private`` storage the replica's own
  store container (``<project>-db-rK``) is replaced with it, by a new, empty one first: a
  replica's private data lives and dies with the replica, whatever process holds it, as on the
  local runtime (docs/lessons.md, lesson 9). ``always`` leaves that store as it is;
* ``no``: it stays dead (and out of the rotation).

A store container that dies is started again as itself (its data is on the volume, or in its
layer for a private store) unless the policy is ``no``; the death of one the supervisor replaced
itself (no longer the stack's store of that name) is ignored.

The events are read by a thread (the ``docker`` package blocks) and handled one at a time on the
event loop, in the order the engine reported them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING, Any, Protocol

from lbdemo.deploy.admin import BalancerAdmin
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.host import stopped_mark
from lbdemo.deploy.names import PRIVATE_STORE_OF_LABEL, REPLICA_SERVICE, SERVICE_LABEL, Project
from lbdemo.deploy.restart import leave_rotation, with_backoff
from lbdemo.docker.containers import Engine, ready_lines
from lbdemo.errors import ProcessError
from lbdemo.store.secret import load_or_create_secret

if TYPE_CHECKING:
    from docker.models.containers import Container


class Supervised(Protocol):
    """What the supervisor needs of the stack it keeps: a
    :class:`~lbdemo.docker.stack.DockerStack`."""

    project: Project
    config: StackConfig
    admin: BalancerAdmin | None
    image: str | None

    def replica_named(self, name: str) -> Any: ...

    def store_id(self, name: str) -> str | None: ...

    def set_store(self, container: Container) -> None: ...

    def forget_store(self, name: str) -> None: ...

    def forget_replica(self, name: str) -> None: ...

    async def admit_replica(self, container: Container) -> Any: ...

    def event(self, kind: str, **fields: Any) -> None: ...


THREAD_JOIN_S = 5.0


class Supervisor:
    def __init__(self, stack: Supervised, engine: Engine) -> None:
        self.stack = stack
        self.engine = engine
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._stream: Any = None
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        """Subscribe to the project's ``die`` events (from now on), then handle them."""
        self._stream = self.engine.client.events(
            decode=True,
            filters={
                "type": "container",
                "event": ["die", "start"],
                "label": self.stack.project.label_filter,
            },
        )
        loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._read, args=(loop,), name="docker-events", daemon=True
        )
        self._thread.start()
        self._task = asyncio.create_task(self._handle_all())

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(Exception):  # the stream closed under us: that is how it ends
            for event in self._stream:
                loop.call_soon_threadsafe(self._queue.put_nowait, event)

    async def stop(self) -> None:
        """No more policies: what dies from now on is being stopped on purpose."""
        self._closing = True
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, THREAD_JOIN_S)

    async def _handle_all(self) -> None:
        while True:
            event = await self._queue.get()
            if self._closing:
                return
            try:
                await self._died(event)
            except Exception as exc:  # one failed restart must not end the supervision
                self.stack.event("warning", message=str(exc))

    async def _died(self, event: dict[str, Any]) -> None:
        attributes = event.get("Actor", {}).get("Attributes", {})
        container_id = str(event.get("id") or event.get("Actor", {}).get("ID", ""))
        name = str(attributes.get("name", ""))
        if (event.get("Action") or event.get("status")) == "start":
            await self._started(container_id, name, attributes)
            return
        code = int(attributes.get("exitCode", -1))
        if attributes.get(SERVICE_LABEL) == REPLICA_SERVICE:
            replica = self.stack.replica_named(name)
            if replica is None or replica.id != container_id:
                return  # not one in the rotation (a replaced container's last breath, say)
            if stopped_mark(self.stack.config.run_dir, name).exists():
                # `lbdemo stop` (drained already): a stop on purpose, no policy applies
                await self._leave(name)
                self.stack.event("stop", id=container_id, name=name, exit_code=code)
                return
            self.stack.event("die", id=container_id, name=name, exit_code=code)
            await self._leave(name)
            policy = self.stack.config.restart
            if policy != "no":
                await self._with_retries(
                    name, policy, lambda: self._bring_back(container_id, policy)
                )
        else:
            if self.stack.store_id(name) != container_id:
                return  # a store container the supervisor replaced (or never knew)
            owner = attributes.get(PRIVATE_STORE_OF_LABEL)
            if owner and self.stack.replica_named(owner) is None:
                self.stack.forget_store(name)  # its replica went first (an upgrade): it follows
                return
            self.stack.event("die", id=container_id, name=name, exit_code=code)
            if self.stack.config.restart != "no":
                await self._with_retries(name, "always", lambda: self._restart_store(container_id))

    async def _started(self, container_id: str, name: str, attributes: dict[str, Any]) -> None:
        """A replica ``lbdemo stop`` stopped, started again (``lbdemo start``, or ``docker
        start`` by hand): back into the rotation once healthy. Other starts are the
        supervisor's own, or a container it does not keep."""
        mark = stopped_mark(self.stack.config.run_dir, name)
        if attributes.get(SERVICE_LABEL) != REPLICA_SERVICE or not mark.exists():
            return
        if self.stack.replica_named(name) is not None:
            return
        mark.unlink(missing_ok=True)
        container = await self.engine.call(self.engine.client.containers.get, container_id)
        if self.stack.config.layout.store_per_replica:  # its own store, from the upgrade
            store = self.stack.project.private_store_name(name)
            with contextlib.suppress(Exception):
                self.stack.set_store(
                    await self.engine.call(self.engine.client.containers.get, store)
                )
        replica = await self.stack.admit_replica(container)
        self.stack.event("start", id=container_id, name=name, image=replica.image)

    async def _leave(self, name: str) -> None:
        admin = self.stack.admin
        if admin is not None:
            try:
                await leave_rotation(admin, name, drain=False)
            except ProcessError as exc:
                self.stack.event("warning", message=str(exc))
        self.stack.forget_replica(name)
        self.stack.event("leave", name=name)

    async def _with_retries(self, name: str, policy: str, attempt: Any) -> None:
        await with_backoff(
            name,
            policy,
            attempt,
            closing=lambda: self._closing,
            warn=lambda message: self.stack.event("warning", message=message),
        )

    async def _bring_back(self, container_id: str, policy: str) -> None:
        engine = self.engine
        dead = await engine.call(engine.client.containers.get, container_id)
        if policy == "always":
            await engine.call(dead.start)
            await self.stack.admit_replica(dead)
            self.stack.event("restart", id=dead.id, name=dead.name)
            return
        password = load_or_create_secret(self.stack.config.state_root)
        if self.stack.config.layout.store_per_replica:
            await self._replace_private_store(dead.name, password)
        fresh = await engine.call(engine.recreate, dead, password)
        await self.stack.admit_replica(fresh)
        self.stack.event(
            "replace", name=fresh.name, old_id=dead.id, new_id=fresh.id, image=self.stack.image
        )

    async def _replace_private_store(self, replica: str, password: str) -> None:
        """The replica's own store container removed with its layer (its data) and a new,
        empty one started under its name: the replica's DSN names it, so the new replica finds
        it. Forgotten first, so its death is not taken for one to restart."""
        engine, stack = self.engine, self.stack
        name = stack.project.private_store_name(replica)
        old_id = stack.store_id(name)
        stack.forget_store(name)
        await engine.call(engine.remove_container, name)
        assert stack.image is not None
        await engine.call(
            engine.run_store,
            stack.project,
            stack.image,
            name,
            password,
            volume=None,
            replica=replica,
        )
        fresh = await engine.wait_store_ready(name)
        stack.set_store(fresh)
        stack.event("replace", name=name, old_id=old_id, new_id=fresh.id, image=stack.image)

    async def _restart_store(self, container_id: str) -> None:
        engine = self.engine
        store = await engine.call(engine.client.containers.get, container_id)
        before = await engine.call(ready_lines, store)
        await engine.call(store.start)
        await engine.wait_store_ready(store.name, after=before)
        self.stack.event("restart", id=store.id, name=store.name)
