"""What acts on a running stack's containers, either runtime's: :class:`LiveStack`.

The dashboard (its sampler, its event log, its buttons), the nemesis of the faults scenario and
the upgrade scenario ask a running stack the same few things, whichever runtime runs it: its
replicas (name, id, URL, image), its events (``die``, ``replace``, ... as
:mod:`lbdemo.deploy.events` words them), the balancer's admin API, and a few moves done with the
runtime's own mechanism: ``kill -9`` of a replica, ``pause``/``unpause`` (SIGSTOP and SIGCONT of
its processes on the local runtime, the cgroup freezer of ``docker pause`` on the engine), the
store killed, a rolling upgrade, and the pets lesson's own moves: a file copied into a
container's layer (``docker cp``), a signal (``docker kill -s HUP``: reload), a replica run with
bind mounts (``docker run -v``). The local :class:`~lbdemo.runtime.stack.Stack` and the
:class:`~lbdemo.docker.stack.DockerStack` both are one; a ``--target`` deployment is none (lbdemo
does not run its containers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lbdemo.deploy.admin import BalancerAdmin
from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.events import Event
from lbdemo.deploy.layout import Layout

if TYPE_CHECKING:  # the runtimes import deploy/, never the other way round
    from lbdemo.runtime.stack import Stack


class LiveReplica(Protocol):
    """One replica container as the dashboard and the scenarios see it."""

    @property
    def name(self) -> str: ...

    @property
    def id(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def image(self) -> str: ...


@dataclass
class StoreKill:
    """What killing a stack's store did: on which container (in words), a note (its pid), and
    the event that says it is back (``heal_event`` for the container ``heal_name``); an empty
    target: nothing of ours to kill (an external server)."""

    target: str
    note: str = ""
    heal_event: str = ""
    heal_name: str = ""


class LiveStack(Protocol):
    runtime_name: str
    config: StackConfig

    @property
    def url(self) -> str: ...

    @property
    def admin_url(self) -> str | None: ...

    @property
    def layout(self) -> Layout: ...

    @property
    def replicas(self) -> Sequence[LiveReplica]: ...

    @property
    def events(self) -> list[Event]:
        """Every event since the stack started, in order (only ever appended to)."""
        ...

    @property
    def admin(self) -> BalancerAdmin | None: ...

    @property
    def local_stack(self) -> Stack | None: ...

    async def kill(self, name: str) -> None:
        """``kill -9`` of a replica container; its restart policy follows."""
        ...

    async def pause(self, name: str) -> None:
        """Every process of the container stopped where it is (``docker pause``)."""
        ...

    async def unpause(self, name: str) -> None: ...

    async def kill_store(self, replica: str) -> StoreKill:
        """``kill -9`` of the store: the stack's one store, or with private storage
        ``replica``'s own."""
        ...

    async def upgrade(self, image: str, progress: Callable[[str], None]) -> list[dict[str, Any]]:
        """A rolling upgrade of every replica to ``image`` (one dict per step, as
        :meth:`lbdemo.deploy.verbs.Backend.upgrade` returns)."""
        ...

    async def copy_into(self, name: str, path: str, data: bytes) -> None:
        """``docker cp``: ``data`` as the file ``path`` in the container's own layer."""
        ...

    async def signal(self, name: str, signal: str) -> None:
        """``docker kill -s SIGNAL``: just the signal (``HUP``: the replica reloads its
        config)."""
        ...

    async def run_replica(self, name: str, binds: Mapping[str, str]) -> LiveReplica:
        """``docker run -d --name NAME -v HOST:PATH[:ro] IMAGE``: a replica of the stack's
        image on its store, with ``binds`` (host directory -> ``PATH[:ro]``), healthy and in
        the rotation, kept by the stack's restart policy as the others."""
        ...
