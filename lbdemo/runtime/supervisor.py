"""The local runtime's supervisor: containers from records to processes, and back, with Docker's
lifecycle.

:class:`Runtime` is what dockerd is to ``docker``: it turns a container record of
:class:`~lbdemo.containers.containers.ContainerStore` into running processes (started by the
:class:`~lbdemo.runtime.launch.Launcher`, from the container's image), records
``running``/``exited`` with pids, and keeps the balancer's rotation in step with them.

Cattle, not pets: a replica that dies unasked leaves the rotation at once and, with restart
policy ``replace``, is *replaced*: the dead container is removed with its layer and a fresh one
from the same image takes its name (:mod:`lbdemo.deploy.restart`, the policy both runtimes
apply). ``stop`` is a deliberate stop (no replacement, layer kept); ``kill`` is a crash as far
as the policy is concerned (the task's "kill a replica" lesson). A replica whose own PostgreSQL
dies has died too. A store container that dies is restarted with policy ``always``: the same
container, on the same volume and port.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lbdemo.containers.containers import Container, ContainerStore
from lbdemo.containers.errors import ContainerRunningError, NoSuchContainerError
from lbdemo.containers.images import CATALOG_REPOSITORY, POSTGRES_REPOSITORY, find_image
from lbdemo.containers.mounts import Mount
from lbdemo.deploy.admin import BalancerAdmin
from lbdemo.deploy.events import Event
from lbdemo.deploy.layout import Layout
from lbdemo.deploy.names import DEFAULT_PROJECT, REPLICA_SERVICE, SERVICE_LABEL
from lbdemo.deploy.restart import RESTART_POLICIES, leave_rotation, with_backoff
from lbdemo.errors import ProcessError, StateError, UsageError
from lbdemo.runtime.launch import Launcher
from lbdemo.runtime.process import ContainerProcess, exit_status, stack_store_of

STOP_TIMEOUT_S = 10.0
# After the balancer let go of a replica, a connection it opened just before may still carry a
# request; a moment before SIGTERM lets that request arrive and be served.
LEAVE_GRACE_S = 0.1


class Runtime:
    """Containers of one state root as processes; every change goes through one lock."""

    def __init__(
        self,
        state_root: Path,
        run_dir: Path,
        layout: Layout,
        *,
        on_change: Callable[[Event], None] | None = None,
    ) -> None:
        self.store = ContainerStore(state_root)
        self.run_dir = run_dir
        self.layout = layout
        self.launcher = Launcher(
            self.store, state_root, run_dir, layout, running=lambda: self.procs.values()
        )
        self.admin: BalancerAdmin | None = None
        self.procs: dict[str, ContainerProcess] = {}  # container id -> process, in start order
        self.events: list[Event] = []
        self._on_change = on_change
        self._lock = asyncio.Lock()
        self._closing = False

    @property
    def pg_password(self) -> str:
        """The state root's PostgreSQL password (every embedded server's)."""
        return self.launcher.pg_password

    @property
    def synchronous_standbys(self) -> int:
        return self.launcher.synchronous_standbys

    @synchronous_standbys.setter
    def synchronous_standbys(self, count: int) -> None:
        self.launcher.synchronous_standbys = count

    # -- reading ---------------------------------------------------------------------------

    @property
    def replicas(self) -> list[ContainerProcess]:
        """Running replicas in creation order (the balancer's initial rotation order)."""
        running = [p for p in self.procs.values() if p.is_replica]
        return sorted(running, key=lambda p: (p.container.created, p.name))

    @property
    def stores(self) -> list[ContainerProcess]:
        return [p for p in self.procs.values() if not p.is_replica]

    @property
    def stack_store(self) -> ContainerProcess | None:
        """The stack's own store container, if it runs (never one a user started by hand)."""
        return stack_store_of(self.stores)

    def find(self, ref: str) -> ContainerProcess | None:
        container = self.store.get(ref)
        return self.procs.get(container.id)

    def _event(self, kind: str, **fields: Any) -> None:
        event = {"event": kind, **fields}
        self.events.append(event)
        if self._on_change is not None:
            self._on_change(event)

    # -- creating and starting ---------------------------------------------------------------

    def create(
        self,
        image: str,
        name: str | None = None,
        mounts: Sequence[Mount] = (),
        labels: dict[str, str] | None = None,
        restart: str = "no",
    ) -> Container:
        if restart not in RESTART_POLICIES:
            raise UsageError(
                f"invalid restart policy {restart!r}: use {', '.join(RESTART_POLICIES)}"
            )
        repository = find_image(image).repository
        if repository not in (CATALOG_REPOSITORY, POSTGRES_REPOSITORY):
            raise UsageError(f"lbdemo cannot run image {image}")
        return self.store.create(
            image, name=name, mounts=mounts, labels=labels, restart_policy=restart
        )

    async def launch(self, container: Container) -> ContainerProcess:
        """Start a created or exited container's processes and record them (no rotation)."""
        proc = await self.launcher.start(container)
        self.procs[container.id] = proc
        self.store.set_state(container.id, "running", pid=proc.pid)
        proc.watcher = asyncio.create_task(self._watch(proc))
        self._event("start", id=container.id, name=container.name, image=container.image)
        return proc

    # -- the rotation ------------------------------------------------------------------------

    async def _join(self, proc: ContainerProcess) -> None:
        if self.admin is not None and proc.is_replica:
            await self.admin.add(proc.name, proc.url)
            self._event("join", name=proc.name, url=proc.url)

    async def _leave(self, proc: ContainerProcess, *, drain: bool) -> None:
        """Out of the rotation; with ``drain``, after its in-flight requests have finished."""
        if self.admin is None or not proc.is_replica:
            return
        await leave_rotation(self.admin, proc.name, drain=drain)
        self._event("leave", name=proc.name)

    # -- stopping --------------------------------------------------------------------------

    async def _stop_processes(self, proc: ContainerProcess, sig: int, timeout_s: float) -> int:
        """Replica first, then its private PostgreSQL; the container's status is the replica's."""
        proc.stopping = True
        code = 0
        if proc.child is not None:
            code = exit_status(await proc.child.stop(sig, timeout_s=timeout_s))
        if proc.server is not None:
            await proc.server.stop()
        if proc.engine is not None:
            await proc.engine.stop()
        if proc.watcher is not None and proc.watcher is not asyncio.current_task():
            proc.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await proc.watcher
        self.procs.pop(proc.id, None)
        return code

    def _record_exit(self, container_id: str, code: int) -> None:
        with contextlib.suppress(NoSuchContainerError):
            self.store.set_state(container_id, "exited", exit_code=code)

    async def _watch(self, proc: ContainerProcess) -> None:
        """Wait until any process of the container exits: the replica, or its PostgreSQL (a
        replica whose own store is gone can only answer 503: it has died as far as anyone can
        tell)."""
        waits = [
            p.wait()
            for p in (proc.child.process if proc.child else None, *proc.store_processes)
            if p
        ]
        tasks = [asyncio.ensure_future(w) for w in waits]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
        returncode = next(iter(done)).result() if done else None
        if proc.stopping or self._closing:
            return
        async with self._lock:
            if proc.stopping or self._closing or proc.id not in self.procs:
                return
            await self._died(proc, exit_status(returncode))

    async def _died(self, proc: ContainerProcess, code: int) -> None:
        """Nobody asked it to stop: out of the rotation now, then its restart policy."""
        proc.stopping = True
        self._record_exit(proc.id, code)
        self._event("die", id=proc.id, name=proc.name, exit_code=code)
        try:
            await self._leave(proc, drain=False)
        except ProcessError as exc:
            self._event("warning", message=str(exc))
        await self._stop_processes(proc, signal.SIGKILL, 1.0)  # its other processes die with it
        if proc.container.restart_policy != "no" and not self._closing:
            await self._bring_back(proc.container)

    async def _bring_back(self, dead: Container) -> None:
        """The dead container's restart policy (``always`` or ``replace``), tried with the
        backoff both runtimes share."""
        replace = dead.restart_policy == "replace"
        current = dead

        async def attempt() -> None:
            nonlocal current
            if replace:
                with contextlib.suppress(NoSuchContainerError):
                    self.store.remove(current.id, force=True)
                current = self.create(
                    dead.image, dead.name, dead.mounts, dict(dead.labels), "replace"
                )
            await self._start_and_join(current)

        back = await with_backoff(
            dead.name,
            dead.restart_policy,
            attempt,
            closing=lambda: self._closing,
            warn=lambda message: self._event("warning", message=message),
        )
        if not back:
            return
        if replace:
            self._event(
                "replace", name=dead.name, old_id=dead.id, new_id=current.id, image=current.image
            )
        else:
            self._event("restart", id=dead.id, name=dead.name)

    # -- Docker's verbs ----------------------------------------------------------------------

    async def run(
        self,
        image: str,
        name: str | None = None,
        mounts: Sequence[Mount] = (),
        labels: dict[str, str] | None = None,
        restart: str = "no",
    ) -> ContainerProcess:
        """``docker run -d``: create, start, wait until healthy, join the rotation."""
        async with self._lock:
            container = self.create(image, name, mounts, labels, restart)
            return await self._start_and_join(container)

    async def _start_and_join(self, container: Container) -> ContainerProcess:
        proc = await self.launch(container)
        try:
            if proc.is_replica:
                await Launcher.healthy(proc)
                await self._join(proc)
        except BaseException:
            code = await self._stop_processes(proc, signal.SIGTERM, STOP_TIMEOUT_S)
            self._record_exit(container.id, code)
            raise
        return proc

    async def start(self, ref: str) -> Container:
        """``docker start``: a created or exited container runs again, on its own layer."""
        async with self._lock:
            container = self.store.get(ref)
            if container.id in self.procs:
                return container  # already running: docker start is a no-op then
            await self._start_and_join(container)
            return container

    async def stop(self, ref: str, timeout_s: float = STOP_TIMEOUT_S) -> Container:
        """``docker stop``: leave the rotation (drained), SIGTERM, SIGKILL after the timeout."""
        async with self._lock:
            container = self.store.get(ref)
            proc = self.procs.get(container.id)
            if proc is None:
                return container
            proc.stopping = True
            await self._leave(proc, drain=True)
            await asyncio.sleep(LEAVE_GRACE_S)
            code = await self._stop_processes(proc, signal.SIGTERM, timeout_s)
            self._record_exit(container.id, code)
            self._event("stop", id=container.id, name=container.name, exit_code=code)
            return container

    async def restart(self, ref: str) -> Container:
        """``docker restart``: the same container (same layer, same port for a store)."""
        await self.stop(ref)
        return await self.start(ref)

    async def kill(self, ref: str, sig: signal.Signals = signal.SIGKILL) -> Container:
        """``docker kill``: just the signal; what follows is the watcher's business."""
        container = self.store.get(ref)
        proc = self.procs.get(container.id)
        if proc is None:
            raise StateError(
                f"Cannot kill container: {ref}: container {container.id} is not running"
            )
        target = proc.child.process if proc.child else proc.server.process if proc.server else None
        if target is not None:
            with contextlib.suppress(ProcessLookupError):
                target.send_signal(sig)
        return container

    def pause(self, ref: str) -> Container:
        """``docker pause``: SIGSTOP every process of the container (the replica and, with
        private storage, its PostgreSQL's postmaster). Nothing exits, so no watcher fires: the
        balancer finds out by its health checks, as it would with Docker's freezer."""
        return self._signal_all(ref, signal.SIGSTOP, "pause")

    def unpause(self, ref: str) -> Container:
        """``docker unpause``: SIGCONT to the processes :meth:`pause` stopped."""
        return self._signal_all(ref, signal.SIGCONT, "unpause")

    def _signal_all(self, ref: str, sig: signal.Signals, event: str) -> Container:
        container = self.store.get(ref)
        proc = self.procs.get(container.id)
        if proc is None:
            raise StateError(f"Container {container.id} is not running")
        for process in (proc.child.process if proc.child else None, *proc.store_processes):
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(sig)
        self._event(event, id=container.id, name=container.name)
        return container

    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> Container:
        """``docker rm [-f]``: out of the rotation, killed (``force``), record and layer gone."""
        async with self._lock:
            container = self.store.get(ref)
            proc = self.procs.get(container.id)
            if proc is not None:
                if not force:
                    raise ContainerRunningError(container.id)
                proc.stopping = True
                await self._leave(proc, drain=False)
                code = await self._stop_processes(proc, signal.SIGKILL, 1.0)
                self._record_exit(container.id, code)
            removed = self.store.remove(container.id, force=True, volumes=volumes)
            self._event("destroy", id=container.id, name=container.name)
            return removed

    async def upgrade(
        self, image: str, progress: Callable[[str], None] = lambda _: None
    ) -> list[dict[str, str]]:
        """Rolling upgrade: per replica, start the new one, let it join, drain and remove the old.

        At every moment at least the other replicas and usually one more are in the rotation,
        and a replica leaves only after its in-flight requests finished: no request fails.
        """
        target = find_image(image)
        if target.repository != CATALOG_REPOSITORY:
            raise UsageError(
                f"upgrade replaces replicas; {image} is not a {CATALOG_REPOSITORY} image"
            )
        replaced: list[dict[str, str]] = []
        async with self._lock:
            for old in list(self.replicas):
                if old.container.labels.get(SERVICE_LABEL) != REPLICA_SERVICE:
                    continue  # containers started with `lbdemo run` are the user's to replace
                replaced.append(await self._replace_with(old, image, progress))
        return replaced

    async def _replace_with(
        self, old: ContainerProcess, image: str, progress: Callable[[str], None]
    ) -> dict[str, str]:
        """One step of the rolling upgrade: the new replica in, then the old one drained out."""
        new_container = self.create(
            image,
            self.next_replica_name(),
            old.container.mounts,
            dict(old.container.labels),
            old.container.restart_policy,
        )
        new = await self._start_and_join(new_container)
        progress(f"{new.name} ({new.id[:12]}, {image}) joined; draining {old.name}")
        old.stopping = True
        await self._leave(old, drain=True)
        await asyncio.sleep(LEAVE_GRACE_S)
        code = await self._stop_processes(old, signal.SIGTERM, STOP_TIMEOUT_S)
        self._record_exit(old.id, code)
        self.store.remove(old.id, force=True)
        progress(f"{old.name} ({old.id[:12]}, {old.image}) stopped and removed")
        self._event("upgrade", old=old.name, new=new.name, image=image)
        return {
            "old": old.name,
            "old_id": old.id,
            "old_image": old.image,
            "new": new.name,
            "new_id": new.id,
            "new_image": image,
        }

    def next_replica_name(self) -> str:
        return DEFAULT_PROJECT.next_replica_name([c.name for c in self.store.list(all=True)])

    # -- the end ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop every process (replicas, then stores); records say exited, layers stay."""
        self._closing = True
        self.admin = None
        replicas, stores = self.replicas, self.stores

        async def stop(proc: ContainerProcess) -> None:
            code = await self._stop_processes(proc, signal.SIGTERM, STOP_TIMEOUT_S)
            self._record_exit(proc.id, code)

        await asyncio.gather(*(stop(p) for p in replicas), return_exceptions=True)
        await asyncio.gather(*(stop(p) for p in stores), return_exceptions=True)
        await self.launcher.close()
