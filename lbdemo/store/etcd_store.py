"""The etcd Store: products as keys of an etcd cluster, through its v3 JSON gateway.

etcd 3.4 answers gRPC and, on the same client port, a JSON translation of it (``POST
/v3/kv/put``, ``POST /v3/kv/range``; keys and values base64). aiohttp is all it takes: no gRPC
stack, no etcd client library.

A product is the key ``lbdemo/products/<id>``; its value is JSON ``{"price", "write_id",
"updated_at"}``. etcd keeps no time per key, so ``updated_at`` is the replica's clock at the
write. ``version`` is etcd's own: how many times the key was put since it was created (a put
asks for the previous key-value, whose version plus one is the new one, atomically).

Reads are **linearizable** by default: the member asks the leader for its commit index (raft's
read index) and answers once it has applied that far, so a read sees every write acknowledged
before it began, whichever member it asks. ``serializable=True`` answers from the member's own
applied state without asking anyone: fast, and possibly behind the leader (how far is what
``--apply-delay`` makes visible).

A replica's store URL names every member, its own first, and the read mode:
``etcd://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3?read=serializable`` (:func:`etcd_url`). There is
no password: etcd runs without authentication on 127.0.0.1 (the password argument
:func:`lbdemo.store.factory.open_store` hands every store is not used; docs/stores.md says what
an unauthenticated etcd on loopback does not protect).

Several endpoints: the replica's own member first, then the others. A request that could not
even connect (the member is down: refused) goes to the next one, for every operation: nothing
was sent, so nothing can be applied twice. A request that was sent and then lost its answer
(the member died mid-request, a timeout) is a read tried again elsewhere (a read changes
nothing), but a put is *not* retried: it may have been committed, so it raises
:class:`~lbdemo.errors.StoreOutcomeUnknown`, the replica answers 504 and the history records
the write as of unknown outcome, which is what it is (a 503 would record it as failed).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from lbdemo.errors import StoreError, StoreOutcomeUnknown, UsageError
from lbdemo.store.base import Product

PREFIX = "lbdemo/products/"
# The end of the prefix's range: the prefix with its last byte plus one ("/" + 1 is "0").
PREFIX_END = PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1)
READY_KEY = "lbdemo/ready"
TIMEOUT_S = 5.0
SCHEME = "etcd"
READ_MODES = ("linearizable", "serializable")


def etcd_url(endpoints: Sequence[str], read_mode: str = "linearizable") -> str:
    """``etcd://host:port,host:port?read=MODE`` from ``http://host:port`` client URLs."""
    hosts = ",".join(url.split("://", 1)[-1].rstrip("/") for url in endpoints)
    return f"{SCHEME}://{hosts}?read={read_mode}"


def parse_etcd_url(url: str) -> tuple[list[str], bool]:
    """The client URLs (``http://host:port``) and whether reads are serializable; UsageError
    on anything else (one line, the URL not echoed beyond its scheme)."""
    parts = urlsplit(url)
    if parts.scheme != SCHEME or not parts.netloc or "@" in parts.netloc:
        raise UsageError("an etcd store URL is etcd://HOST:PORT[,HOST:PORT...][?read=MODE]")
    modes = parse_qs(parts.query).get("read", ["linearizable"])
    if modes[-1] not in READ_MODES:
        raise UsageError(f"etcd read mode must be one of {', '.join(READ_MODES)}")
    endpoints = []
    for host in parts.netloc.split(","):
        name, _, port = host.rpartition(":")
        if not name or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise UsageError("an etcd store URL names HOST:PORT pairs separated by commas")
        endpoints.append(f"http://{host}")
    return endpoints, modes[-1] == "serializable"


# What aiohttp raises when a member is down, slow or answers garbage.
_SENT_ERRORS = (aiohttp.ClientError, TimeoutError, ValueError)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode()


def _product(product_id: str, raw_value: str, version: int) -> Product:
    try:
        value = json.loads(_unb64(raw_value))
        return Product(
            product_id,
            int(value["price"]),
            str(value["write_id"]),
            version,
            datetime.fromisoformat(value["updated_at"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"etcd holds an unreadable value for {product_id!r}: {exc}") from exc


class EtcdStore:
    """A :class:`~lbdemo.store.base.Store` on etcd's JSON gateway; see the module's doc."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoints: Sequence[str],
        *,
        serializable: bool = False,
    ) -> None:
        if not endpoints:
            raise StoreError("an etcd store needs at least one endpoint")
        self._session = session
        self.endpoints = [url.rstrip("/") for url in endpoints]
        self.serializable = serializable

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        password: str | None = None,
        pool_size: int = 10,
        read_only: bool = False,
        timeout_s: float = TIMEOUT_S,
        ping: bool = True,
    ) -> EtcdStore:
        """A store on the members ``url`` names (:func:`etcd_url`; the replica's own first).
        ``password`` is not used (no authentication, see the module's doc); ``pool_size``
        bounds the connections to each member; ``read_only`` changes nothing (a member takes
        writes and reads alike). With ``ping``, one read through the read path chosen, so a
        replica is ready only once its store answers as it will."""
        del password, read_only
        endpoints, serializable = parse_etcd_url(url)
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            connector=aiohttp.TCPConnector(limit_per_host=pool_size),
        )
        store = cls(session, endpoints, serializable=serializable)
        if ping:
            try:
                await store.ping()
            except StoreError:
                await session.close()
                raise
        return store

    @property
    def read_mode(self) -> str:
        return "serializable" if self.serializable else "linearizable"

    async def _call(self, path: str, body: dict[str, Any], *, idempotent: bool) -> dict[str, Any]:
        """POST ``body`` to ``path`` on the first member that takes it (see the module's doc)."""
        reasons: list[str] = []
        for endpoint in self.endpoints:
            try:
                async with self._session.post(endpoint + path, json=body) as response:
                    answer = await response.json(content_type=None)
                    if response.status == 200 and isinstance(answer, dict):
                        return answer
                    reason = _gateway_error(response.status, answer)
            except aiohttp.ClientConnectorError as exc:
                # not connected: nothing reached etcd, any operation may go elsewhere
                reasons.append(f"{endpoint}: {exc.os_error.strerror or exc}")
                continue
            except _SENT_ERRORS as exc:
                reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
            reasons.append(f"{endpoint}: {reason}")
            if not idempotent:
                raise StoreOutcomeUnknown(f"etcd put of unknown outcome: {reason}")
        raise StoreError("no etcd member answered: " + "; ".join(reasons))

    async def put(self, product_id: str, price: int, write_id: str) -> Product:
        updated_at = datetime.now(UTC)
        value = {"price": price, "write_id": write_id, "updated_at": updated_at.isoformat()}
        answer = await self._call(
            "/v3/kv/put",
            {"key": _b64(PREFIX + product_id), "value": _b64(json.dumps(value)), "prev_kv": True},
            idempotent=False,
        )
        previous = answer.get("prev_kv") or {}
        version = int(previous.get("version", 0)) + 1
        return Product(product_id, price, write_id, version, updated_at)

    def _range(self, key: str, range_end: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"key": _b64(key), "serializable": self.serializable}
        if range_end is not None:
            body["range_end"] = _b64(range_end)
        return body

    async def get(self, product_id: str) -> Product | None:
        answer = await self._call("/v3/kv/range", self._range(PREFIX + product_id), idempotent=True)
        kvs = answer.get("kvs") or []
        if not kvs:
            return None
        return _product(product_id, kvs[0].get("value", ""), int(kvs[0].get("version", 1)))

    async def snapshot(self) -> dict[str, str]:
        answer = await self._call("/v3/kv/range", self._range(PREFIX, PREFIX_END), idempotent=True)
        rows = {}
        for kv in answer.get("kvs") or []:
            product_id = _unb64(kv["key"])[len(PREFIX) :]
            rows[product_id] = _product(product_id, kv.get("value", ""), 1).write_id
        return rows

    async def ping(self) -> None:
        """A read of one key through this store's read path (linearizable: needs a leader)."""
        await self._call("/v3/kv/range", self._range(READY_KEY), idempotent=True)

    async def close(self) -> None:
        await self._session.close()


def _gateway_error(status: int, answer: Any) -> str:
    """The gateway's error body (``{"error": ..., "code": ...}``) in one line."""
    if isinstance(answer, dict) and answer.get("error"):
        return f"HTTP {status}: {answer['error']}"
    return f"HTTP {status}"
