"""Where the replicas' data lives: one value, decided once from the command line.

The storage choice is the whole lesson of the demo, so it is made in exactly one place
(:meth:`Layout.from_options`) and then carried unchanged: the stack starts what it says, the
runtime gives each replica the store it names, and ``up``, ``stack.json`` and every report
describe it from this same value (:meth:`Layout.describe`, :attr:`Layout.summary`).

* ``private``: every replica container runs its own PostgreSQL, data in its container layer.
* ``shared-volume``: one PostgreSQL container whose data directory is a named volume.
* ``external``: one existing PostgreSQL server the user named with ``--dsn``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from lbdemo.errors import UsageError
from lbdemo.store.dsn import redact_dsn

LayoutName = Literal["private", "shared-volume", "external"]
STORAGE_CHOICES = ("private", "shared")
DEFAULT_VOLUME = "lbdemo-pgdata"
RUNTIME = "local"  # lbdemo's own container runtime (processes, layers and volumes on disk)


@dataclass(frozen=True)
class Layout:
    """The storage layout of one stack. Construct it with :meth:`from_options`."""

    name: LayoutName
    volume: str | None = None  # shared-volume: the named volume holding PostgreSQL's data
    dsn: str | None = None  # external: the user's server (may carry a password: never shown)

    @classmethod
    def from_options(
        cls, storage: str, *, dsn: str | None = None, volume: str = DEFAULT_VOLUME
    ) -> Layout:
        """The layout ``--storage`` and ``--dsn`` ask for, or a one-line UsageError."""
        if storage not in STORAGE_CHOICES:
            raise UsageError(f"--storage must be private or shared, got {storage!r}")
        if dsn is not None:
            if storage == "private":
                raise UsageError("--dsn names one shared server; use it with --storage shared")
            if not dsn.startswith(("postgres://", "postgresql://")):
                raise UsageError("--dsn must be a postgresql:// URL")
            return cls("external", dsn=dsn)
        if storage == "private":
            return cls("private")
        from lbdemo.containers.names import validate_volume_name

        validate_volume_name(volume)
        return cls("shared-volume", volume=volume)

    @property
    def storage(self) -> str:
        """The user's word for it: ``private`` or ``shared`` (what ``--storage`` takes)."""
        return "private" if self.name == "private" else "shared"

    @property
    def store_per_replica(self) -> bool:
        return self.name == "private"

    @property
    def store_container(self) -> bool:
        """Whether the stack runs one store container (on the volume) for every replica."""
        return self.name == "shared-volume"

    @property
    def summary(self) -> str:
        if self.name == "private":
            return "a private PostgreSQL per replica, data in its container layer"
        if self.name == "shared-volume":
            return f"one shared PostgreSQL, data on the named volume {self.volume}"
        assert self.dsn is not None
        return f"one shared external PostgreSQL server ({redact_dsn(self.dsn)})"

    def describe(self) -> dict[str, Any]:
        """JSON for reports and ``stack.json``; never carries a password."""
        out: dict[str, Any] = {
            "name": self.name,
            "storage": self.storage,
            "runtime": RUNTIME,
            "summary": self.summary,
        }
        if self.volume is not None:
            out["volume"] = self.volume
        if self.dsn is not None:
            out["dsn"] = redact_dsn(self.dsn)
        return out
