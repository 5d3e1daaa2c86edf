"""The third runtime: a deployment someone else runs (``docker compose up``, hosts of one's own,
Kubernetes), given by URLs (``--target`` and ``--replica-urls``). lbdemo neither starts nor
stops it: it checks that every replica answers, loads it and audits it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout

from lbdemo.errors import ProcessError, UsageError

if TYPE_CHECKING:
    from lbdemo.runtime.stack import Stack

MAX_TARGET_REPLICAS = 64
TARGET_HEALTH_TIMEOUT_S = 10.0


def check_http_url(option: str, url: str) -> str:
    """``http://host:port[/]`` (https too), or a one-line UsageError naming the option."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UsageError(f"{option}: not a URL: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{option} must be an http:// URL, got {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise UsageError(f"{option} must be a bare http://host:port URL, got {url!r}")
    del port  # only checked: urlsplit raises on a port out of range when it is read
    return url.rstrip("/")


@dataclass(frozen=True)
class Target:
    """A running deployment given by URLs (``--target`` and ``--replica-urls``), checked on
    construction: its balancer, and every replica's own address for the final audit."""

    url: str
    replica_urls: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", check_http_url("--target", self.url))
        if not self.replica_urls:
            raise UsageError("--target needs --replica-urls: the audit asks every replica directly")
        if len(self.replica_urls) > MAX_TARGET_REPLICAS:
            raise UsageError(f"--replica-urls takes at most {MAX_TARGET_REPLICAS} URLs")
        urls = tuple(check_http_url("--replica-urls", u.strip()) for u in self.replica_urls)
        if len(set(urls)) < len(urls):
            raise UsageError("--replica-urls names a replica twice")
        if self.url in urls:
            raise UsageError("--target is the balancer: it cannot also be one of --replica-urls")
        object.__setattr__(self, "replica_urls", urls)

    @classmethod
    def from_options(cls, target: str | None, replica_urls: str | None) -> Target | None:
        if target is None:
            if replica_urls is not None:
                raise UsageError("--replica-urls goes with --target")
            return None
        return cls(target, tuple(u for u in (replica_urls or "").split(",") if u.strip()))


@dataclass(frozen=True)
class TargetReplica:
    name: str  # what it answers as (its X-Replica), from its own health check
    url: str


class TargetDeployment:
    """A deployment lbdemo did not start: ``start`` checks that every replica answers its health
    check (and learns the name it answers as); ``stop`` leaves it running."""

    runtime_name = "target"

    def __init__(self, target: Target) -> None:
        self.target = target
        self.started_in_s: float | None = None
        self._replicas: list[TargetReplica] = []

    @property
    def url(self) -> str:
        return self.target.url

    @property
    def replicas(self) -> Sequence[TargetReplica]:
        return self._replicas

    async def start(self) -> None:
        began = time.monotonic()
        timeout = ClientTimeout(total=TARGET_HEALTH_TIMEOUT_S)
        async with ClientSession(timeout=timeout) as http:
            health = await asyncio.gather(
                _health(http, self.url, "--target"),
                *(_health(http, url, "--replica-urls") for url in self.target.replica_urls),
            )
        names = [
            str(h.get("replica") or url)
            for h, url in zip(health[1:], self.target.replica_urls, strict=True)
        ]
        if len(set(names)) < len(names):
            raise ProcessError(
                f"--replica-urls: two URLs answer as the same replica ({', '.join(names)}): "
                "the audit needs every replica once"
            )
        urls = self.target.replica_urls
        self._replicas = [TargetReplica(n, u) for n, u in zip(names, urls, strict=True)]
        self.started_in_s = time.monotonic() - began

    @property
    def local_stack(self) -> Stack | None:
        return None  # no handles on processes someone else runs

    @property
    def live_stack(self) -> None:
        return None  # nor on its containers

    def runtime_report(self) -> dict[str, Any] | None:
        return None

    async def stop(self) -> None:
        """Not ours to stop."""


async def _health(http: ClientSession, url: str, option: str) -> dict[str, Any]:
    try:
        async with http.get(f"{url}/healthz") as response:
            if response.status != 200:
                raise ProcessError(f"{option} {url}: /healthz answered HTTP {response.status}")
            body = await response.json(content_type=None)
    except (ClientError, TimeoutError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        raise ProcessError(f"{option} {url} is not reachable: {reason}") from None
    return body if isinstance(body, dict) else {}
