"""``create_app(settings, store)``: the replica's aiohttp application.

Handlers are thin (parse → store → JSON). Every response, errors included and those aiohttp
produces itself (404, 405), carries ``X-Replica`` and a JSON body, because that header is what
lets the checker say which replica served a stale read.

Requests aiohttp's parser refuses (a bad request line, a header over its 8 KiB line limit)
never reach the application or its middlewares: aiohttp answers them from its protocol
handler, in plain text. :func:`create_runner` serves the app with a protocol handler whose
answer is the same JSON, with ``X-Replica`` (431 for a head too large, 400 otherwise), under
the listener policy every aiohttp port of lbdemo has (``lbdemo/process/listener.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong

from lbdemo.errors import StoreError, StoreOutcomeUnknown
from lbdemo.process import listener
from lbdemo.process.listener import GuardedAppRunner, GuardedRequestHandler, ListenerPolicy
from lbdemo.replica.catalog_config import (
    BANNER_HEADER,
    CatalogConfig,
    CatalogConfigSource,
    image_defaults,
)
from lbdemo.replica.openapi import OPENAPI_PATH, openapi_spec
from lbdemo.replica.validation import (
    MAX_BODY_BYTES,
    InvalidInput,
    check_product_id,
    parse_price_update,
)
from lbdemo.store.base import Product, Store

REPLICA_HEADER = "X-Replica"
log = logging.getLogger("lbdemo.replica")


@dataclass(frozen=True)
class ReplicaSettings:
    name: str
    image: str = "lbdemo/catalog:1.0"
    # What /etc/catalog says (reloaded on SIGHUP); None: the image's defaults.
    catalog: CatalogConfigSource | None = field(default=None, compare=False)

    def config(self) -> CatalogConfig:
        return self.catalog.current if self.catalog else image_defaults(self.image)

    @property
    def image_version(self) -> tuple[int, ...]:
        tag = self.image.rsplit(":", 1)[1] if ":" in self.image.rsplit("/", 1)[-1] else "1.0"
        try:
            return tuple(int(part) for part in tag.split("."))
        except ValueError:
            return (1, 0)


SETTINGS = web.AppKey("settings", ReplicaSettings)
STORE = web.AppKey("store", Store)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, "status": status, **extra}, status=status)


def product_body(product: Product, settings: ReplicaSettings) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": product.id,
        "price": product.price,
        "write_id": product.write_id,
        "version": product.version,
        "updated_at": product.updated_at.isoformat(),
        "replica": settings.name,
        "image": settings.image,
    }
    currency = settings.config().currency  # 1.1's image config adds KRW, or /etc/catalog does
    if currency:
        body["currency"] = currency
    return body


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn refusals, aiohttp's own HTTP errors and store outages into JSON responses."""
    try:
        return await handler(request)
    except InvalidInput as exc:
        return json_error(exc.status, exc.message)
    except StoreOutcomeUnknown as exc:  # before StoreError, its base: maybe applied, not failed
        return json_error(504, "database did not answer", detail=str(exc))
    except StoreError as exc:
        return json_error(503, "database unavailable", detail=str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_error(exc.status, exc.reason)
    except Exception:
        # A bug, not bad input: log it with its traceback, answer in the API's own shape.
        log.exception("unexpected error on %s %s", request.method, request.path)
        return json_error(500, "internal error")


async def add_replica_header(request: web.Request, response: web.StreamResponse) -> None:
    settings = request.app[SETTINGS]
    response.headers[REPLICA_HEADER] = settings.name
    banner = settings.config().banner
    if banner:
        response.headers[BANNER_HEADER] = banner


async def read_body(request: web.Request) -> bytes:
    """The whole request body (listener.read_body), refusing more than MAX_BODY_BYTES."""
    try:
        return await listener.read_body(request, MAX_BODY_BYTES)
    except listener.BodyRefused as exc:
        raise InvalidInput(exc.status, exc.message) from None


async def put_product(request: web.Request) -> web.Response:
    product_id = check_product_id(request.match_info["product_id"])
    update = parse_price_update(await read_body(request))
    product = await request.app[STORE].put(product_id, update.price, update.write_id)
    return web.json_response(product_body(product, request.app[SETTINGS]))


async def get_product(request: web.Request) -> web.Response:
    product_id = check_product_id(request.match_info["product_id"])
    product = await request.app[STORE].get(product_id)
    if product is None:
        return json_error(404, "no such product", id=product_id)
    return web.json_response(product_body(product, request.app[SETTINGS]))


async def list_products(request: web.Request) -> web.Response:
    """Every product id → write id this replica can see: what the final audit asks."""
    snapshot = await request.app[STORE].snapshot()
    return web.json_response(
        {"replica": request.app[SETTINGS].name, "count": len(snapshot), "products": snapshot}
    )


async def healthz(request: web.Request) -> web.Response:
    await request.app[STORE].ping()
    settings = request.app[SETTINGS]
    return web.json_response({"status": "ok", "replica": settings.name, "image": settings.image})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_spec())


def create_app(settings: ReplicaSettings, store: Store) -> web.Application:
    # aiohttp's own size check answers in plain text; ours (read_body) answers in JSON, so the
    # framework's limit only has to stay above ours.
    app = web.Application(middlewares=[errors_as_json], client_max_size=MAX_BODY_BYTES * 2)
    app[SETTINGS] = settings
    app[STORE] = store
    app.on_response_prepare.append(add_replica_header)
    app.router.add_route("PUT", "/products/{product_id}", put_product)
    app.router.add_route("GET", "/products/{product_id}", get_product)
    app.router.add_route("GET", "/products", list_products)
    app.router.add_route("GET", "/healthz", healthz)
    app.router.add_route("GET", OPENAPI_PATH, openapi)
    return app


def _parse_error_status(status: int, exc: BaseException | None) -> tuple[int, str]:
    """What a request refused by aiohttp's parser gets: 431 for too large a head."""
    if isinstance(exc, LineTooLong):
        return 431, "request line or header field too large"
    if status >= 500:
        return status, "internal error"
    return status, "malformed HTTP request"


class JsonErrorRequestHandler(GuardedRequestHandler):
    """The replica's protocol handler: guarded (listener.py), parse errors answered in JSON."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp does: too late for an answer
            raise ConnectionError("response already started; cannot send an error")
        status, text = _parse_error_status(status, exc)
        if status >= 500:
            log.error("unexpected error: %r", exc)  # one line: a client cannot flood it
        else:
            log.info("refused a malformed request from %s: %s", request.remote, message)
        response = json_error(status, text, detail=(message or "")[:200])
        for name, value in self._policy.headers:
            response.headers[name] = value
        response.force_close()
        return response


def replica_policy(name: str) -> ListenerPolicy:
    """The listener policy of replica ``name``: its answers carry X-Replica too.

    The balancer reaches a replica from one address with up to its ``max_connections``
    (1024) requests at once plus its idle pool: the caps stay above that.
    """
    return ListenerPolicy(
        max_connections=4096, max_per_client=2048, headers=((REPLICA_HEADER, name),)
    )


class ReplicaRunner(GuardedAppRunner):
    """``GuardedAppRunner`` for a replica app: aiohttp's own error answers become JSON too."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        kwargs.setdefault("policy", replica_policy(app[SETTINGS].name))
        super().__init__(app, handler_class=JsonErrorRequestHandler, **kwargs)


def create_runner(app: web.Application, **kwargs: Any) -> web.AppRunner:
    """The runner to serve ``create_app(...)`` with (``kwargs`` as for ``web.AppRunner``)."""
    return ReplicaRunner(app, **kwargs)
