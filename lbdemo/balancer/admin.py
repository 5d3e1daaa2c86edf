"""The admin API: follow replicas that come and go, drain them, read metrics.

It listens on its own (loopback) port, and every request needs ``Authorization: Bearer TOKEN``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from lbdemo.balancer.config import parse_upstream_url
from lbdemo.errors import UsageError
from lbdemo.process.listener import BodyRefused, read_body

if TYPE_CHECKING:
    from lbdemo.balancer.server import Balancer

BALANCER_KEY: web.AppKey[Balancer] = web.AppKey("balancer")
TOKEN_KEY = web.AppKey("token", str)

# A replica's name and URL: a few hundred bytes at most.
MAX_BODY_BYTES = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    expected = "Bearer " + request.app[TOKEN_KEY]
    given = request.headers.get("Authorization", "")
    # compare_digest: how much of the token matched must not show in the response time.
    # surrogateescape: a header that is not UTF-8 is a wrong token (401), not a 500.
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode()):
        return _error(401, "missing or wrong bearer token")
    return await handler(request)


def _replica_or_404(request: web.Request) -> Any:
    balancer = request.app[BALANCER_KEY]
    name = request.match_info["name"]
    replica = balancer.replicas.get(name)
    if replica is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no replica named {name!r}"}),
            content_type="application/json",
        )
    return replica


async def list_replicas(request: web.Request) -> web.Response:
    balancer = request.app[BALANCER_KEY]
    return web.json_response([r.describe() for r in balancer.replicas])


async def show_replica(request: web.Request) -> web.Response:
    return web.json_response(_replica_or_404(request).describe())


async def add_replica(request: web.Request) -> web.Response:
    balancer = request.app[BALANCER_KEY]
    try:
        body = json.loads(await read_body(request, MAX_BODY_BYTES))
    except BodyRefused as exc:
        return _error(exc.status, exc.message)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        return _error(400, 'body must be JSON: {"name": ..., "url": ...}')
    except RecursionError:
        return _error(400, "body is nested too deeply")
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("name"), str)
        or not isinstance(body.get("url"), str)
    ):
        return _error(400, 'body must be JSON: {"name": ..., "url": ...}')
    try:
        upstream = parse_upstream_url(body["name"], body["url"])
    except UsageError as exc:
        return _error(400, str(exc))
    if balancer.replicas.get(upstream.name) is not None:
        return _error(409, f"a replica named {upstream.name!r} exists")
    replica = balancer.add_replica(upstream)
    return web.json_response(replica.describe(), status=201)


async def remove_replica(request: web.Request) -> web.Response:
    balancer = request.app[BALANCER_KEY]
    replica = _replica_or_404(request)
    drained = await balancer.remove_replica(replica)
    return web.json_response({**replica.describe(), "drained": drained})


async def drain_replica(request: web.Request) -> web.Response:
    balancer = request.app[BALANCER_KEY]
    replica = _replica_or_404(request)
    replica.set_draining(True)
    if request.query.get("wait") in ("1", "true", "yes"):
        drained = await replica.wait_idle(balancer.config.drain_timeout)
        return web.json_response({**replica.describe(), "drained": drained}, status=200)
    return web.json_response(replica.describe(), status=202)


async def undrain_replica(request: web.Request) -> web.Response:
    replica = _replica_or_404(request)
    replica.set_draining(False)
    return web.json_response(replica.describe())


async def metrics(request: web.Request) -> web.Response:
    balancer = request.app[BALANCER_KEY]
    return web.Response(
        body=balancer.metrics.render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


def create_admin_app(balancer: Balancer, token: str) -> web.Application:
    app = web.Application(middlewares=[require_token])
    app[BALANCER_KEY] = balancer
    app[TOKEN_KEY] = token
    app.router.add_get("/replicas", list_replicas)
    app.router.add_post("/replicas", add_replica)
    app.router.add_get("/replicas/{name}", show_replica)
    app.router.add_delete("/replicas/{name}", remove_replica)
    app.router.add_post("/replicas/{name}/drain", drain_replica)
    app.router.add_post("/replicas/{name}/undrain", undrain_replica)
    app.router.add_get("/metrics", metrics)
    return app
