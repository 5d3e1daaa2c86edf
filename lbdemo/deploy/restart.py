"""The restart policy both runtimes' supervisors apply: its names, and tries with a backoff.

A replica that dies unasked leaves the balancer's rotation at once; then its container's policy:

* ``no``: it stays dead;
* ``always``: Docker's restart, the *same* container again on its own layer (what it wrote is
  still there);
* ``replace``: what an orchestrator does with a failed task: the dead container is removed with
  its layer and a fresh one from the same image takes its name (cattle).

A try that fails is tried again after a growing delay, as dockerd does: a killed PostgreSQL's
backends, for one, take a moment to notice and go. The local runtime
(:mod:`lbdemo.runtime.supervisor`) and the Docker runtime (:mod:`lbdemo.docker.supervisor`)
differ only in how they start a container; when, how often and what they say is written here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from lbdemo.deploy.admin import BalancerAdmin
from lbdemo.errors import ProcessError

RESTART_POLICIES = ("no", "always", "replace")
RESTART_ATTEMPTS = 6
RESTART_DELAY_S = 0.2


async def with_backoff(
    name: str,
    policy: str,
    attempt: Callable[[], Awaitable[None]],
    *,
    closing: Callable[[], bool],
    warn: Callable[[str], None],
) -> bool:
    """``attempt`` until it succeeds (True), at most :data:`RESTART_ATTEMPTS` times, waiting
    twice as long after each failure; each failure is a warning. Gives up (False) once
    ``closing`` says the stack is being stopped."""
    delay = RESTART_DELAY_S
    for number in range(1, RESTART_ATTEMPTS + 1):
        if closing():
            return False
        try:
            await attempt()
        except Exception as exc:  # a failed restart must not end the supervision
            verb = "replace" if policy == "replace" else "restart"
            warn(f"could not {verb} {name} (try {number}): {exc}")
            await asyncio.sleep(delay)
            delay *= 2
            continue
        return True
    return False


async def leave_rotation(admin: BalancerAdmin, name: str, *, drain: bool) -> None:
    """Out of the balancer's rotation; with ``drain``, after its in-flight requests finished.
    The drain comes first: the replica receives no new request the moment it returns; a failed
    drain is no reason to keep a replica that is going away."""
    with contextlib.suppress(ProcessError):
        await admin.drain(name, wait=drain)
    await admin.remove(name)
