"""The local runtime's daemon API: what ``lbdemo run/stop/kill/rm/upgrade`` talk to, as
``docker`` talks to dockerd.

It listens on 127.0.0.1 (a free port) for as long as ``lbdemo up`` runs and accepts a request
only with ``Authorization: Bearer <token>``. Where and how to reach it is written to
``<state>/run/daemon.json`` (mode 600: the token is as good as the daemon itself) and removed
when the daemon stops. Errors come back as ``{"message": ...}`` with the status Docker's engine
uses (400 bad request, 404 no such container, 409 conflict, 500 anything else), and the CLI
prints them as ``Error response from daemon: <message>``.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from lbdemo.containers.errors import (
    ContainerRunningError,
    NameConflictError,
    NoSuchContainerError,
    NoSuchImageError,
    VolumeInUseError,
)
from lbdemo.containers.mounts import Mount
from lbdemo.deploy.signals import parse_signal
from lbdemo.errors import LbdemoError, UsageError
from lbdemo.process.listener import (
    CONTROL_POLICY,
    BodyRefused,
    GuardedAppRunner,
    ListenerPolicy,
    read_body,
)
from lbdemo.runtime.supervisor import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
TOKEN = web.AppKey("token", str)
DAEMON_FILE = "daemon.json"
# A container's image, name, mounts and labels: far less than this.
MAX_BODY_BYTES = 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _status_for(exc: LbdemoError) -> int:
    if isinstance(exc, NoSuchContainerError | NoSuchImageError):
        return 404
    if isinstance(exc, NameConflictError | ContainerRunningError | VolumeInUseError):
        return 409
    if isinstance(exc, UsageError):
        return 400
    return 500


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Token first; then lbdemo's errors become Docker-like JSON errors, never a traceback."""
    # aiohttp keeps bytes that are not UTF-8 as surrogates: back to those bytes, never a 500.
    given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, f"Bearer {request.app[TOKEN]}".encode()):
        return web.json_response({"message": "missing or wrong bearer token"}, status=401)
    try:
        return await handler(request)
    except LbdemoError as exc:
        return web.json_response({"message": str(exc)}, status=_status_for(exc))
    except BodyRefused as exc:  # too large or too slow
        return web.json_response({"message": exc.message}, status=exc.status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await read_body(request, MAX_BODY_BYTES))
    except (ValueError, RecursionError):
        raise UsageError("request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise UsageError("request body must be a JSON object")
    return body


def _summary(container_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"Id": container_id, "Name": name, **extra}


async def ping(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    return web.json_response({"ok": True, "pid": os.getpid(), "events": runtime.events[-50:]})


async def list_running(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    return web.json_response([p.describe() for p in runtime.procs.values()])


async def run_container(request: web.Request) -> web.Response:
    body = await _body(request)
    image = body.get("image")
    if not isinstance(image, str):
        raise UsageError('"image" is required')
    name = body.get("name")
    try:
        mounts = [Mount.from_record(m) for m in body.get("mounts", [])]
        labels = {str(k): str(v) for k, v in dict(body.get("labels") or {}).items()}
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise UsageError(f"bad mounts or labels: {exc}") from exc
    proc = await request.app[RUNTIME].run(
        image,
        name if isinstance(name, str) else None,
        mounts,
        labels,
        str(body.get("restart", "no")),
    )
    return web.json_response(_summary(proc.id, proc.name, url=proc.url), status=201)


async def start(request: web.Request) -> web.Response:
    container = await request.app[RUNTIME].start(request.match_info["ref"])
    return web.json_response(_summary(container.id, container.name))


async def stop(request: web.Request) -> web.Response:
    try:
        timeout = float(request.query.get("t", "10"))
    except ValueError:
        raise UsageError("t must be a number of seconds") from None
    container = await request.app[RUNTIME].stop(request.match_info["ref"], timeout)
    return web.json_response(_summary(container.id, container.name))


async def restart(request: web.Request) -> web.Response:
    container = await request.app[RUNTIME].restart(request.match_info["ref"])
    return web.json_response(_summary(container.id, container.name))


async def kill(request: web.Request) -> web.Response:
    sig = parse_signal(request.query.get("signal", "KILL"))
    container = await request.app[RUNTIME].kill(request.match_info["ref"], sig)
    return web.json_response(_summary(container.id, container.name))


async def remove(request: web.Request) -> web.Response:
    yes = ("1", "true")
    container = await request.app[RUNTIME].remove(
        request.match_info["ref"],
        force=request.query.get("force") in yes,
        volumes=request.query.get("v") in yes,
    )
    return web.json_response(_summary(container.id, container.name))


async def upgrade(request: web.Request) -> web.Response:
    body = await _body(request)
    image = body.get("image")
    if not isinstance(image, str):
        raise UsageError('"image" is required')
    replaced = await request.app[RUNTIME].upgrade(image)
    return web.json_response({"image": image, "replaced": replaced})


def create_control_app(runtime: Runtime, token: str) -> web.Application:
    app = web.Application(middlewares=[guard])
    app[RUNTIME] = runtime
    app[TOKEN] = token
    app.router.add_get("/_ping", ping)
    app.router.add_get("/containers", list_running)
    app.router.add_post("/containers", run_container)
    app.router.add_post("/containers/{ref}/start", start)
    app.router.add_post("/containers/{ref}/stop", stop)
    app.router.add_post("/containers/{ref}/restart", restart)
    app.router.add_post("/containers/{ref}/kill", kill)
    app.router.add_delete("/containers/{ref}", remove)
    app.router.add_post("/upgrade", upgrade)
    return app


class ControlServer:
    """The control API of one running daemon, and the ``daemon.json`` that points at it."""

    def __init__(
        self, runtime: Runtime, run_dir: Path, policy: ListenerPolicy = CONTROL_POLICY
    ) -> None:
        self.runtime = runtime
        self.policy = policy
        self.file = run_dir / DAEMON_FILE
        self.token = secrets.token_urlsafe(24)
        self.url: str | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        runner = GuardedAppRunner(
            create_control_app(self.runtime, self.token), policy=self.policy, access_log=None
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        write_daemon_file(self.file, {"url": self.url, "token": self.token, "pid": os.getpid()})

    async def stop(self) -> None:
        self.file.unlink(missing_ok=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def write_daemon_file(path: Path, data: dict[str, Any]) -> None:
    """Created 600 from the first byte: the token must never be readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)
