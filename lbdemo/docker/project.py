"""One Docker project: the names and labels of everything a docker stack makes.

As with ``docker compose -p NAME``, every container, the network and the volume the stack makes
carry the labels ``com.docker.compose.project=NAME`` and ``com.docker.compose.service=...``, and
everything of the project is found by its labels, never by guessing at names; one more label,
``io.lbdemo.made-by``, keeps it apart from what ``docker compose`` made under the same project.
Names are ``NAME-r1..N`` (replicas; the X-Replica header), ``NAME-db`` (the shared store),
``NAME-db-rK`` (replica K's private store), the network ``NAME`` and the volume
``NAME-pgdata``: with the default project, ``lbdemo-r1`` and ``lbdemo-pgdata``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lbdemo.runtime.engine import PROJECT_LABEL, SERVICE_LABEL

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

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

    def replica_name(self, number: int) -> str:
        return f"{self.name}-r{number}"

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
        """The project's containers (stopped ones too with ``all``), oldest first."""
        found = client.containers.list(all=all, filters={"label": self.label_filter})
        return sorted(found, key=lambda c: (c.attrs.get("Created", ""), c.name))

    def owns(self, attrs: dict[str, Any]) -> bool:
        labels = (attrs.get("Labels") or attrs.get("Config", {}).get("Labels")) or {}
        return bool(labels.get(PROJECT_LABEL) == self.name and labels.get(MADE_BY_LABEL) == MADE_BY)
