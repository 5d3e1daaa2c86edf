"""What a stack is started with, on either runtime: one value, checked on construction.

:class:`StackConfig` carries the :class:`~lbdemo.deploy.layout.Layout`, the replicas, image,
balancer address, strategy, restart policy, runtime and (Docker) project; a StackConfig that
exists is valid, so nothing starts before a bad option is refused.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lbdemo.balancer.config import STRATEGIES
from lbdemo.containers.errors import NoSuchImageError
from lbdemo.containers.images import CATALOG_REPOSITORY, find_image
from lbdemo.deploy.layout import Layout
from lbdemo.deploy.names import PROJECT, PROJECT_NAME, RUNTIMES
from lbdemo.deploy.restart import RESTART_POLICIES
from lbdemo.errors import UsageError

MAX_REPLICAS = 32
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class StackConfig:
    """Everything a stack is started with, checked on construction: a StackConfig that exists
    is valid, so nothing starts before a bad option is refused."""

    state_root: Path
    layout: Layout = field(default_factory=lambda: Layout.from_options("shared"))
    replicas: int = 3
    image: str = "lbdemo/catalog:1.0"
    balancer_listen: str = "127.0.0.1:8080"
    strategy: str = "round-robin"
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    restart: str = "replace"  # the stack's replicas are cattle: a dead one is replaced
    runtime: str = "local"  # what runs the containers: lbdemo's own runtime, or Docker's
    # Docker's project (as compose's ``-p``): names the containers, network and labels, so two
    # stacks on one engine (parallel tests, say) never touch each other's. The docker runtime's.
    project: str = PROJECT
    # The docker runtime: take over a named volume another state root's stack made (its label
    # says whose it is; unasked, that is refused).
    adopt_volume: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise UsageError(
                f"--replicas must be between 1 and {MAX_REPLICAS}, got {self.replicas}"
            )
        if self.strategy not in STRATEGIES:
            raise UsageError(
                f"--strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )
        if self.runtime not in RUNTIMES:
            raise UsageError(
                f"--runtime must be one of {', '.join(RUNTIMES)}, got {self.runtime!r}"
            )
        if self.restart not in RESTART_POLICIES:
            raise UsageError(
                f"--restart must be one of {', '.join(RESTART_POLICIES)}, got {self.restart!r}"
            )
        try:
            repository = find_image(self.image).repository
        except NoSuchImageError as exc:
            raise UsageError(f"--image: {exc}") from None
        if repository != CATALOG_REPOSITORY:
            raise UsageError(f"--image must be a {CATALOG_REPOSITORY} image, got {self.image}")
        if not PROJECT_NAME.fullmatch(self.project):
            raise UsageError(
                "--project must be 1-40 lowercase letters, digits, '-' or '_', starting with a "
                f"letter or digit, got {self.project!r}"
            )
        if self.layout.store != "postgres" and self.runtime != "local":
            raise UsageError(
                f"--store {self.layout.store} runs on the local runtime only (its engine is "
                "lbdemo's child); drop --runtime"
            )
        if self.layout.region_rtt_ms is not None and self.runtime != "local":
            raise UsageError("--region-rtt runs on the local runtime only")
        if self.project != PROJECT and self.runtime != "docker":
            raise UsageError("--project names a Docker project: it goes with --runtime docker")
        host, _, port = self.balancer_listen.rpartition(":")
        if not (port.isascii() and port.isdigit()) or int(port) > 65535:
            raise UsageError(f"--port must be between 0 and 65535, got {port!r}")
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            raise UsageError(f"--host must be an IP address, got {host!r}") from None

    @property
    def exposed(self) -> bool:
        """Whether the balancer listens beyond this machine's loopback (``--host``)."""
        host = self.balancer_listen.rpartition(":")[0].strip("[]")
        return not ipaddress.ip_address(host).is_loopback

    @property
    def run_dir(self) -> Path:
        return self.state_root / "run"

    def volume_data_dir(self) -> Path | None:
        if self.layout.volume is None:
            return None
        return self.state_root / "volumes" / self.layout.volume / "_data"

    def describe(self) -> dict[str, Any]:
        """The settings as JSON (numbers as numbers; no token, no password)."""
        return {
            "state_root": str(self.state_root),
            "layout": self.layout.describe(),
            "replicas": self.replicas,
            "image": self.image,
            "balancer_listen": self.balancer_listen,
            "strategy": self.strategy,
            "restart": self.restart,
            "runtime": self.runtime,
            **({"project": self.project} if self.runtime == "docker" else {}),
        }
