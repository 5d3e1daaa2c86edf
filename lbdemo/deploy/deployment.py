"""What the pipeline loads, audits and reports on: a deployment, whoever runs it.

The pipeline (:mod:`lbdemo.demo.pipeline`) needs these things of what it tests: start it, the
balancer's URL, every replica's name and URL (the audit asks each one directly), what ran it
(for the report), stop it. Three things provide them, opened by runtime name in one place,
:mod:`lbdemo.stacks` (the one package above every runtime):

* ``local``: :class:`~lbdemo.runtime.stack.Stack`, lbdemo's own runtime (processes, layers and
  volumes in the state root). The default: nothing to install.
* ``docker``: :class:`~lbdemo.docker.stack.DockerStack`, the same stack as real containers of a
  Docker Engine, the shared store's data on a real named volume.
* ``target``: :class:`~lbdemo.deploy.target.TargetDeployment`, a deployment someone else runs,
  given by URLs. lbdemo neither starts nor stops it.

Scenarios that act on the stack's containers (upgrade, faults) and the live dashboard need a
stack lbdemo runs, on either runtime (:attr:`Deployment.live_stack`,
:class:`~lbdemo.deploy.live.LiveStack`); the replicated layouts' lag sampler needs the local
runtime's own handles (:attr:`Deployment.local_stack`). Each says so before anything starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the runtimes import deploy/, never the other way round
    from lbdemo.deploy.live import LiveStack
    from lbdemo.runtime.stack import Stack


class Endpoint(Protocol):
    """One replica as the audit sees it."""

    @property
    def name(self) -> str: ...

    @property
    def url(self) -> str: ...


class Deployment(Protocol):
    """What :func:`~lbdemo.demo.pipeline.run_under_load` runs its load against."""

    runtime_name: str  # "local", "docker" or "target": every report says which ran it
    started_in_s: float | None

    @property
    def url(self) -> str: ...

    @property
    def replicas(self) -> Sequence[Endpoint]: ...

    @property
    def local_stack(self) -> Stack | None:
        """The local runtime's stack, for what acts on its processes; None on another."""
        ...

    @property
    def live_stack(self) -> LiveStack | None:
        """The stack, for what acts on its containers (either runtime); None for a target."""
        ...

    def runtime_report(self) -> dict[str, Any] | None:
        """What the report says about what ran the containers beyond the runtime's name (the
        Docker Engine and image); None when there is nothing more to say."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
