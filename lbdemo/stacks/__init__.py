"""Open a stack or a deployment by runtime name: the one package that knows every runtime.

``deploy/`` holds what the runtimes share and imports none of them; ``runtime/`` (local) and
``docker/`` import ``deploy/``; this package sits above all three, so every folder arrow points
down. The pipeline (``demo/``) and ``up`` (``commands/``) open what they run through it.
"""

from __future__ import annotations

from collections.abc import Callable

from lbdemo.deploy.config import StackConfig
from lbdemo.deploy.deployment import Deployment
from lbdemo.deploy.events import Event
from lbdemo.deploy.target import Target, TargetDeployment
from lbdemo.docker.stack import DockerStack
from lbdemo.runtime.stack import Stack

__all__ = ["open_deployment", "open_stack"]


def open_stack(
    config: StackConfig, *, on_event: Callable[[Event], None] | None = None
) -> Stack | DockerStack:
    """A stack on ``config.runtime``: lbdemo's own runtime, or the Docker Engine's
    (``on_event``: told of every change once it is up)."""
    if config.runtime == "docker":
        return DockerStack(config, on_event=on_event)
    return Stack(config, on_event=on_event)


def open_deployment(config: StackConfig, target: Target | None = None) -> Deployment:
    """The deployment a run loads: the one at ``target``, or a stack on ``config.runtime``."""
    if target is not None:
        return TargetDeployment(target)
    return open_stack(config)
