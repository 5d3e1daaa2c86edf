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
  from the same image takes its name, then joins;
* ``no``: it stays dead (and out of the rotation).

A store container that dies is started again as itself (its data is on the volume, or in its
layer for a private store) unless the policy is ``no``.

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
from lbdemo.deploy.names import REPLICA_SERVICE, SERVICE_LABEL, Project
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
                "event": "die",
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
        code = int(attributes.get("exitCode", -1))
        if attributes.get(SERVICE_LABEL) == REPLICA_SERVICE:
            replica = self.stack.replica_named(name)
            if replica is None or replica.id != container_id:
                return  # not one in the rotation (a replaced container's last breath, say)
            self.stack.event("die", id=container_id, name=name, exit_code=code)
            await self._leave(name)
            policy = self.stack.config.restart
            if policy != "no":
                await self._with_retries(
                    name, policy, lambda: self._bring_back(container_id, policy)
                )
        else:
            self.stack.event("die", id=container_id, name=name, exit_code=code)
            if self.stack.config.restart != "no":
                await self._with_retries(name, "always", lambda: self._restart_store(container_id))

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
        fresh = await engine.call(engine.recreate, dead, password)
        await self.stack.admit_replica(fresh)
        self.stack.event(
            "replace", name=fresh.name, old_id=dead.id, new_id=fresh.id, image=self.stack.image
        )

    async def _restart_store(self, container_id: str) -> None:
        engine = self.engine
        store = await engine.call(engine.client.containers.get, container_id)
        before = await engine.call(ready_lines, store)
        await engine.call(store.start)
        await engine.wait_store_ready(store.name, after=before)
        self.stack.event("restart", id=store.id, name=store.name)
