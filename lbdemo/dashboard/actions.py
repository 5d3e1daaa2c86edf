"""The seed's moves, done on the running stack through the daemon API, as ``lbdemo kill``,
``lbdemo run``, ``lbdemo rm -f`` and ``lbdemo upgrade`` do them (``lbdemo/runtime/api.py``).

The dashboard is one more client of that API: whatever the page does, a terminal could have done
with the same request. The one exception is the look-up, which (like ``lbdemo get KEY
--each-replica``) asks the replicas themselves.

On a Docker stack (:class:`EngineActions`) the engine is the daemon: the kill is ``docker kill``
and the upgrade ``lbdemo upgrade``'s, through the stack
(:class:`~lbdemo.deploy.live.LiveStack`); adding and removing a replica are refused with the
``docker`` command that does it, as the CLI's verbs refuse what they do not do there.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import ClientError, ClientSession, ClientTimeout

from lbdemo.deploy.live import LiveStack
from lbdemo.deploy.names import DEFAULT_PROJECT, PROJECT, PROJECT_LABEL, SERVICE_LABEL
from lbdemo.replica.lookup import ask_every
from lbdemo.runtime.stack import Stack

UPGRADE_IMAGE = "lbdemo/catalog:1.1"
DAEMON_TIMEOUT_S = 300.0  # an upgrade of many replicas answers only when it is done


class ActionError(Exception):
    """The move could not be done: ``status`` and ``message`` go back to the page as JSON."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class StackActions:
    """Moves on one running stack, through its daemon's control API."""

    def __init__(self, stack: Stack) -> None:
        control = stack.control
        if control is None or control.url is None:
            raise ActionError(503, "the stack's daemon is not running")
        self.stack = stack
        self._url = control.url
        self._http = ClientSession(
            headers={"Authorization": f"Bearer {control.token}"},
            timeout=ClientTimeout(total=DAEMON_TIMEOUT_S),
        )

    async def close(self) -> None:
        await self._http.close()

    def _replica(self, name: str) -> str:
        if name not in {r.name for r in self.stack.replicas}:
            raise ActionError(404, f"no running replica named {name!r}")
        return quote(name, safe="")

    async def _daemon(self, method: str, path: str, body: Any = None) -> Any:
        try:
            async with self._http.request(method, self._url + path, json=body) as response:
                payload = await response.json(content_type=None)
        except (ClientError, TimeoutError, ValueError) as exc:
            raise ActionError(502, f"the daemon did not answer: {exc}") from None
        if response.status >= 400:
            message = payload.get("message") if isinstance(payload, dict) else None
            raise ActionError(response.status, str(message or f"daemon: HTTP {response.status}"))
        return payload

    async def kill(self, name: str) -> dict[str, Any]:
        """``lbdemo kill NAME``: SIGKILL; the supervisor takes it out and replaces it."""
        result: dict[str, Any] = await self._daemon(
            "POST", f"/containers/{self._replica(name)}/kill?signal=KILL"
        )
        return result

    async def remove(self, name: str) -> dict[str, Any]:
        """``lbdemo rm -f NAME``: out of the rotation, gone for good (no replacement)."""
        if len(self.stack.replicas) <= 1:
            raise ActionError(409, "the last replica stays: add one before removing this one")
        result: dict[str, Any] = await self._daemon(
            "DELETE", f"/containers/{self._replica(name)}?force=1"
        )
        return result

    async def add(self) -> dict[str, Any]:
        """``lbdemo run -d --restart always IMAGE``, as one of the stack's replicas (its labels:
        a later rolling upgrade replaces it too), from the image the newest replica runs."""
        replicas = self.stack.replicas
        image = replicas[-1].image if replicas else self.stack.config.image
        listed = await self._daemon("GET", "/containers")
        names = [str(c.get("name", "")) for c in listed] if isinstance(listed, list) else []
        result: dict[str, Any] = await self._daemon(
            "POST",
            "/containers",
            {
                "image": image,
                "name": _next_name(names + [r.name for r in replicas]),
                "labels": {PROJECT_LABEL: PROJECT, SERVICE_LABEL: "replica"},
                "restart": "always",
            },
        )
        return result

    async def upgrade(self, image: str = UPGRADE_IMAGE) -> dict[str, Any]:
        """``lbdemo upgrade --image IMAGE``: one replica at a time, drained before it goes."""
        result: dict[str, Any] = await self._daemon("POST", "/upgrade", {"image": image})
        return result

    async def lookup(self, key: str) -> list[dict[str, Any]]:
        """``lbdemo get KEY --each-replica``: every replica asked directly, same rows."""
        targets = [(r.name, r.id, r.url) for r in self.stack.replicas]
        return await ask_every(targets, key)


class EngineActions:
    """The same moves on a stack another runtime runs (the Docker Engine's), through the stack."""

    def __init__(self, stack: LiveStack) -> None:
        self.stack = stack

    async def close(self) -> None:
        """Nothing held: the stack's own engine client does the work."""

    def _replica(self, name: str) -> str:
        if name not in {r.name for r in self.stack.replicas}:
            raise ActionError(404, f"no running replica named {name!r}")
        return name

    async def kill(self, name: str) -> dict[str, Any]:
        """``docker kill NAME``: the stack's supervisor applies its restart policy."""
        try:
            await self.stack.kill(self._replica(name))
        except ActionError:
            raise
        except Exception as exc:
            raise ActionError(502, f"the engine refused: {exc}") from None
        return {"name": name, "killed": True}

    async def remove(self, name: str) -> dict[str, Any]:
        raise ActionError(501, f"not from this page on Docker: docker rm -f {self._replica(name)}")

    async def add(self) -> dict[str, Any]:
        raise ActionError(501, "not from this page on Docker: lbdemo up -n N starts N replicas")

    async def upgrade(self, image: str = UPGRADE_IMAGE) -> dict[str, Any]:
        """``lbdemo upgrade --image IMAGE``: one replica at a time, drained before it goes."""
        try:
            steps = await self.stack.upgrade(image, lambda _line: None)
        except Exception as exc:
            raise ActionError(502, f"the upgrade stopped: {exc}") from None
        return {"image": image, "replaced": steps}

    async def lookup(self, key: str) -> list[dict[str, Any]]:
        targets = [(r.name, r.id, r.url) for r in self.stack.replicas]
        return await ask_every(targets, key)


Actions = StackActions | EngineActions


def actions_for(stack: LiveStack) -> Actions:
    """The local runtime's daemon API when there is one, else the stack itself."""
    local = stack.local_stack
    return StackActions(local) if local is not None else EngineActions(stack)


def _next_name(names: list[str]) -> str:
    """``lbdemo-r<N+1>`` after the highest ``lbdemo-rN`` running (the runtime's own rule counts
    removed records too; a clash is refused by the daemon with 409, never silently reused)."""
    return DEFAULT_PROJECT.next_replica_name(names)
