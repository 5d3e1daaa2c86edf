"""The names both runtimes give what a stack makes: project, containers, network, volume, labels.

One vocabulary for the local runtime (:mod:`lbdemo.runtime`) and the Docker runtime
(:mod:`lbdemo.docker`). As with ``docker compose -p NAME``, every container, the network and the
volume a stack makes carry the labels ``com.docker.compose.project=NAME`` and
``com.docker.compose.service=...``; on a Docker Engine everything of the project is found by its
labels, never by guessing at names, and one more label, ``io.lbdemo.made-by``, keeps it apart
from what ``docker compose`` made under the same project. Names are ``NAME-r1..N`` (replicas;
the X-Replica header), ``NAME-db`` (the shared store), ``NAME-db-rK`` (replica K's private
store, Docker runtime), the network ``NAME`` and the volume ``NAME-pgdata``: with the default
project (the only one the local runtime knows), ``lbdemo-r1``, ``lbdemo-db`` and
``lbdemo-pgdata``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

# What runs the containers: lbdemo's own runtime, or a Docker Engine (``--runtime``).
RUNTIMES = ("local", "docker")
PROJECT = "lbdemo"
PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # what --project takes
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
REPLICA_SERVICE = "replica"
STORE_SERVICE = "db"
# Which replica a private store belongs to (compose has no word for it: a label of our own).
PRIVATE_STORE_OF_LABEL = "io.lbdemo.private-store-of"
# What made it: ``docker compose`` in a clone named lbdemo labels its containers with the project
# ``lbdemo`` too, and a stack must never take those for its own leftovers and remove them.
MADE_BY_LABEL = "io.lbdemo.made-by"
MADE_BY = "lbdemo-docker-stack"
# Whose stack it is: the state root whose stack lock guards it (see DockerStack._claim_project).
STATE_ROOT_LABEL = "io.lbdemo.state-root"


@dataclass(frozen=True)
class Project:
    name: str
    state_root: str | None = None  # labelled on what it makes, when known

    @property
    def replica_prefix(self) -> str:
        return f"{self.name}-r"

    def replica_name(self, number: int) -> str:
        return f"{self.replica_prefix}{number}"

    def replica_number(self, name: str) -> int | None:
        """``lbdemo-r7`` -> 7; None for a name that is not a replica's of this project."""
        match = re.fullmatch(re.escape(self.replica_prefix) + r"(\d+)", name)
        return int(match[1]) if match else None

    def next_replica_name(self, taken: list[str]) -> str:
        """The name after the highest replica number among ``taken`` (``-r1`` if none)."""
        numbers = [n for n in map(self.replica_number, taken) if n is not None]
        return self.replica_name(max(numbers, default=0) + 1)

    def is_stack_name(self, name: str) -> bool:
        """Whether a stack of this project names its store or a replica so."""
        return name == self.store_name or self.replica_number(name) is not None

    @property
    def store_name(self) -> str:
        return f"{self.name}-db"

    def private_store_name(self, replica: str) -> str:
        """``lbdemo-r2`` -> ``lbdemo-db-r2``."""
        return f"{self.store_name}-{replica.removeprefix(self.name + '-')}"

    @property
    def network(self) -> str:
        return self.name

    @property
    def volume(self) -> str:
        return f"{self.name}-pgdata"

    def labels(self, service: str, **extra: str) -> dict[str, str]:
        labels = {PROJECT_LABEL: self.name, SERVICE_LABEL: service, MADE_BY_LABEL: MADE_BY}
        if self.state_root is not None:
            labels[STATE_ROOT_LABEL] = self.state_root
        return {**labels, **extra}

    @property
    def label_filter(self) -> list[str]:
        """The engine's ``label`` filter for what this project's stack made (all must match)."""
        return [f"{PROJECT_LABEL}={self.name}", f"{MADE_BY_LABEL}={MADE_BY}"]

    def containers(self, client: docker.DockerClient, *, all: bool = True) -> list[Container]:
        """The project's containers on an engine (stopped ones too with ``all``), oldest first."""
        found = client.containers.list(all=all, filters={"label": self.label_filter})
        return sorted(found, key=lambda c: (c.attrs.get("Created", ""), c.name))

    def owns(self, attrs: dict[str, Any]) -> bool:
        labels = (attrs.get("Labels") or attrs.get("Config", {}).get("Labels")) or {}
        return bool(labels.get(PROJECT_LABEL) == self.name and labels.get(MADE_BY_LABEL) == MADE_BY)


DEFAULT_PROJECT = Project(PROJECT)
REPLICA_PREFIX = DEFAULT_PROJECT.replica_prefix  # "lbdemo-r"
DB_NAME = DEFAULT_PROJECT.store_name  # "lbdemo-db"
DEFAULT_VOLUME = DEFAULT_PROJECT.volume  # "lbdemo-pgdata"
