"""The dashboard's HTTP side: the page (no secret in it), ``/events`` (SSE) and ``/api/*``.

Everything but the page and its static files needs ``Authorization: Bearer <token>``; the page
reads the token from the fragment of the URL ``lbdemo up --dashboard`` printed (a fragment is
never sent to a server, so it is in no request line and no log), keeps it in the tab's
sessionStorage and sends it as that header. A missing or wrong token is 401 with a JSON body;
every other error is JSON too.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import web

from lbdemo.dashboard.actions import ActionError, Actions
from lbdemo.dashboard.sse import HEARTBEAT_S
from lbdemo.replica.validation import PRODUCT_ID

if TYPE_CHECKING:
    from lbdemo.dashboard.server import Dashboard

DASHBOARD: web.AppKey[Dashboard] = web.AppKey("dashboard")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATIC_FILES = {
    "/": ("index.html", "text/html"),
    "/dashboard.js": ("dashboard.js", "text/javascript"),
    "/dashboard.css": ("dashboard.css", "text/css"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
# The report's vendored charting library (uPlot, MIT): served from there, so that the page, like
# the reports, needs no network and there is one copy of it in the package.
REPORT_ASSETS = {
    "/uPlot.iife.min.js": ("uPlot.iife.min.js", "text/javascript"),
    "/uPlot.min.css": ("uPlot.min.css", "text/css"),
}
PUBLIC = frozenset(STATIC_FILES) | frozenset(REPORT_ASSETS)
REPORTS = "/reports/"
# The page is ours alone: no framing by other sites, no script from anywhere else.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=SECURITY_HEADERS)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Token for everything but the page; errors as JSON, never a traceback or an HTML page."""
    # A report's link is its own permission (a random id): a plain link sends no header.
    if request.path not in PUBLIC and not request.path.startswith(REPORTS):
        expected = f"Bearer {request.app[DASHBOARD].token}".encode()
        # Not UTF-8 (kept as surrogates by aiohttp): compared as the bytes sent, never a 500.
        given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, expected):
            return _error(
                401, "missing or wrong token: open the link `lbdemo up --dashboard` printed"
            )
    try:
        return await handler(request)
    except ActionError as exc:
        return _error(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(exc.status, exc.reason)


async def static_file(request: web.Request) -> web.Response:
    if request.path in REPORT_ASSETS:
        name, content_type = REPORT_ASSETS[request.path]
        body = resources.files("lbdemo.report").joinpath("assets", name).read_bytes()
    else:
        name, content_type = STATIC_FILES[request.path]
        body = resources.files("lbdemo.dashboard").joinpath("static", name).read_bytes()
    return web.Response(
        body=body, content_type=content_type, charset="utf-8", headers=SECURITY_HEADERS
    )


async def events(request: web.Request) -> web.StreamResponse:
    """The SSE stream: the recent log, the latest snapshot, then every new message."""
    dashboard = request.app[DASHBOARD]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    subscriber = dashboard.broadcaster.subscribe()
    try:
        await response.write(b"retry: 1000\n\n")
        while not dashboard.closing:
            message = await subscriber.get(HEARTBEAT_S)
            await response.write(message.encode() if message else b": still here\n\n")
        # closing: the stack's last snapshot (no stack) and log lines, so a tab says it stopped
        for message in subscriber.drain():
            await response.write(message.encode())
    except ConnectionResetError:
        pass  # the page went away
    finally:
        dashboard.broadcaster.unsubscribe(subscriber)
    return response


def _actions(request: web.Request) -> Actions:
    actions = request.app[DASHBOARD].actions
    if actions is None:
        raise ActionError(503, "no stack is running right now")
    return actions


async def kill(request: web.Request) -> web.Response:
    return web.json_response(await _actions(request).kill(request.match_info["name"]))


async def remove(request: web.Request) -> web.Response:
    return web.json_response(await _actions(request).remove(request.match_info["name"]))


async def add(request: web.Request) -> web.Response:
    return web.json_response(await _actions(request).add(), status=201)


async def upgrade(request: web.Request) -> web.Response:
    return web.json_response(await _actions(request).upgrade())


async def lookup(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    if not PRODUCT_ID.fullmatch(key):
        raise ActionError(400, f"a product id must match {PRODUCT_ID.pattern}")
    rows = await _actions(request).lookup(key)
    return web.json_response({"key": key, "rows": rows})


async def feed_load(request: web.Request) -> web.Response:
    """``lbdemo load`` telling the page about its run (docs/dashboard.md, ``POST /api/load``)."""
    try:
        message = await request.json()
    except ValueError:
        raise ActionError(400, "the body must be JSON") from None
    if not isinstance(message, dict):
        raise ActionError(400, "the body must be a JSON object")
    try:
        request.app[DASHBOARD].feed(message)
    except ValueError as exc:
        raise ActionError(400, str(exc)) from None
    return web.json_response({"ok": True})


async def watch_key(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    if not PRODUCT_ID.fullmatch(key):
        raise ActionError(400, f"a product id must match {PRODUCT_ID.pattern}")
    request.app[DASHBOARD].watch_key(key)
    return web.json_response({"key": key})


async def watch_hottest(request: web.Request) -> web.Response:
    request.app[DASHBOARD].watch_key(None)
    return web.json_response({"key": None})


async def report(request: web.Request) -> web.Response:
    path = request.app[DASHBOARD].reports.get(request.match_info["id"])
    if path is None or path.name != request.match_info["name"]:
        raise ActionError(404, "no such report")
    try:
        body = path.read_bytes()
    except OSError:
        raise ActionError(404, "the report is gone") from None
    # The report's own inline charts need inline script and style; only from itself.
    headers = {
        **SECURITY_HEADERS,
        "Content-Security-Policy": "default-src 'self' 'unsafe-inline' data:; "
        "frame-ancestors 'none'",
    }
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers=headers)


def create_dashboard_app(dashboard: Dashboard) -> web.Application:
    app = web.Application(middlewares=[guard])
    app[DASHBOARD] = dashboard
    for path in PUBLIC:
        app.router.add_get(path, static_file)
    app.router.add_get("/events", events)
    app.router.add_post("/api/replicas/{name}/kill", kill)
    app.router.add_delete("/api/replicas/{name}", remove)
    app.router.add_post("/api/replicas", add)
    app.router.add_post("/api/upgrade", upgrade)
    app.router.add_get("/api/lookup/{key}", lookup)
    app.router.add_post("/api/load", feed_load)
    app.router.add_put("/api/key/{key}", watch_key)
    app.router.add_delete("/api/key", watch_hottest)
    app.router.add_get(REPORTS + "{id}/{name}", report)
    return app
