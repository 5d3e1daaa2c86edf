"""The balancer's configuration: one frozen object, built once (by the CLI or a test).

Nothing here reads the environment; ``python -m lbdemo.balancer`` does that and hands the result in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lbdemo.errors import UsageError

STRATEGIES = ("round-robin", "least-conn", "random", "sticky")

# Replica names end up in metric labels, JSON and URLs of the admin API: keep them plain.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")  # \Z: "$" lets "r1\n" in


@dataclass(frozen=True)
class Upstream:
    """One replica the balancer may send requests to."""

    name: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def parse_upstream_url(name: str, url: str) -> Upstream:
    """Validate ``name`` and an ``http://HOST:PORT`` URL; UsageError when either is malformed."""
    if not _NAME_RE.match(name):
        raise UsageError(f"invalid replica name {name!r}: use letters, digits, '.', '_' or '-'")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"invalid replica URL {url!r}: {exc}") from exc
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"invalid replica URL {url!r}: expected http://HOST:PORT")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise UsageError(f"invalid replica URL {url!r}: no path, query or credentials allowed")
    return Upstream(name=name, host=parts.hostname, port=port or 80)


def parse_upstream(spec: str, option: str = "--upstream") -> Upstream:
    """Parse ``NAME=http://HOST:PORT`` as given to ``--upstream`` (or ``--discover``)."""
    name, sep, url = spec.partition("=")
    if not sep:
        raise UsageError(f"invalid {option} {spec!r}: expected NAME=http://HOST:PORT")
    return parse_upstream_url(name, url)


@dataclass(frozen=True)
class BalancerConfig:
    """Everything a :class:`lbdemo.balancer.server.Balancer` needs; times are in seconds."""

    upstreams: tuple[Upstream, ...] = ()
    # Replicas found by DNS (lbdemo/balancer/discovery.py): NAME=http://HOST:PORT, one upstream
    # per address HOST resolves to, looked up every discover_interval seconds.
    discover: tuple[Upstream, ...] = ()
    discover_interval: float = 2.0
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    strategy: str = "round-robin"
    sticky_header: str = "X-Client-Id"
    sticky_cookie: str | None = None
    # Admin API: off when admin_host is None. A token is required whenever it is on.
    admin_host: str | None = None
    admin_port: int = 0
    admin_token: str | None = None
    # Limits.
    max_header_bytes: int = 16 * 1024
    max_body_bytes: int = 1024 * 1024 * 1024
    # client_timeout: the longest a client may go silent in the middle of a request.
    # head_timeout: a request head must be whole this long after its first byte (for the
    # first request of a connection: after the connection opened), however it trickles.
    # A body must arrive within body_timeout plus one second per min_body_rate bytes received.
    client_timeout: float = 30.0
    head_timeout: float = 10.0
    body_timeout: float = 20.0
    min_body_rate: float = 500.0
    keepalive_timeout: float = 75.0
    # Client connections open at once; one more is answered 503 and closed. Each proxied
    # connection may hold two descriptors (client and replica): keep 2x this under the
    # process's descriptor limit.
    max_connections: int = 1024
    # Of those, how many one client address may hold (nginx's limit_conn per address): one
    # address cannot keep every other client at 503. Above the 1,000 users the demo's Locust
    # may run, all from 127.0.0.1 with one connection each.
    max_connections_per_client: int = 1000
    # Requests one client may have queued (pipelined) at once; one more is answered 429.
    max_pipeline: int = 128
    upstream_timeout: float = 30.0
    connect_timeout: float = 3.0
    # Health: active checks every health_interval (0 turns them off), rise/fall consecutive results.
    health_interval: float = 2.0
    health_path: str = "/healthz"
    health_timeout: float = 1.0
    rise: int = 2
    fall: int = 2
    # Passive ejection: a failed connect takes a replica out; without active checks it gets
    # another chance after passive_cooldown.
    passive_ejection: bool = True
    passive_cooldown: float = 5.0
    # Retry a request whose upstream connect failed (nothing was sent) on the next replica,
    # for GET/HEAD/OPTIONS only.
    retry_idempotent: bool = True
    # Upstream keep-alive pool, per replica. aiohttp closes idle connections after 75 s; we
    # drop ours well before, so a reused connection is rarely one the replica is closing.
    pool_max_idle: int = 128
    pool_idle_timeout: float = 15.0
    drain_timeout: float = 30.0
    shutdown_grace: float = 5.0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise UsageError(
                f"unknown strategy {self.strategy!r}: choose from {', '.join(STRATEGIES)}"
            )
        names = [u.name for u in self.upstreams]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise UsageError(f"duplicate replica name(s): {', '.join(duplicates)}")
        if self.admin_host is not None and not self.admin_token:
            raise UsageError("the admin API needs a token")
        for label, value in (
            ("max_header_bytes", self.max_header_bytes),
            ("max_body_bytes", self.max_body_bytes),
            ("max_connections", self.max_connections),
            ("max_connections_per_client", self.max_connections_per_client),
            ("max_pipeline", self.max_pipeline),
            ("rise", self.rise),
            ("fall", self.fall),
        ):
            if value < 1:
                raise UsageError(f"{label} must be at least 1")
        for label, seconds in (
            ("client_timeout", self.client_timeout),
            ("head_timeout", self.head_timeout),
            ("body_timeout", self.body_timeout),
            ("min_body_rate", self.min_body_rate),
            ("keepalive_timeout", self.keepalive_timeout),
            ("upstream_timeout", self.upstream_timeout),
            ("connect_timeout", self.connect_timeout),
            ("health_timeout", self.health_timeout),
            ("discover_interval", self.discover_interval),
        ):
            if seconds <= 0:
                raise UsageError(f"{label} must be positive")
        if self.health_interval < 0:
            raise UsageError("health_interval must not be negative")
