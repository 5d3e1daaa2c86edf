"""Where the replicas' data lives: one value, decided once from the command line.

The storage choice is the whole lesson of the demo, so it is made in exactly one place
(:meth:`Layout.from_options`) and then carried unchanged: the stack starts what it says, the
runtime gives each replica the store it names, and ``up``, ``stack.json`` and every report
describe it from this same value (:meth:`Layout.describe`, :attr:`Layout.summary`).

* ``private``: every replica container runs its own PostgreSQL, data in its container layer.
* ``shared-volume``: one PostgreSQL container whose data directory is a named volume.
* ``external``: one existing PostgreSQL server the user named with ``--dsn``.
* ``replicated-async``: one PostgreSQL primary (data on the volume) and one streaming standby per
  replica (in its container layer); writes go to the primary, reads to the replica's standby.
* ``replicated-sync``: the same, every standby synchronous (``remote_apply``).
* ``shared-datadir``: the seed's drawing taken literally: every replica runs its own PostgreSQL
  on one data directory (the volume). PostgreSQL refuses the second one: a lesson, not a stack.

``store`` (``--store``) names the engine: ``postgres`` (all of the above), or ``redis`` /
``etcd`` (:mod:`lbdemo.store.engines`), which run the same words with their own engine:
``private`` (a single-node engine per replica, in its container layer), ``shared-volume`` (one
engine on the named volume: Redis one primary, etcd a 3-member cluster, each replica talking to
its own member) and, for Redis, ``replicated-async`` (one primary, one Redis replica per lbdemo
replica: writes to the primary, reads from its own replica). ``read_mode`` (``--read``) is etcd's:
``linearizable`` (the default) or ``serializable`` (each member's local state).

With ``region_rtt_ms`` (``--region-rtt``) the stack is spread over two simulated regions on this
machine (:meth:`Layout.regions` says what is where): the balancer, the replicas and their
standbys in region A, the store container (shared store or primary) in region B, every
connection from A to B through a link that delays each direction by half the round trip
(:mod:`lbdemo.runtime.regions`). ``private`` has nothing in region B.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from lbdemo.deploy.names import DEFAULT_VOLUME
from lbdemo.errors import UsageError
from lbdemo.store.dsn import redact_dsn
from lbdemo.store.engines import LAYOUTS_OF, READ_MODES, STORE_KINDS, StoreKind

LayoutName = Literal[
    "private", "shared-volume", "external", "replicated-async", "replicated-sync", "shared-datadir"
]
STORAGE_CHOICES = ("private", "shared")
# What ``lbdemo demo --layouts`` takes: the two storage words, and the layouts beyond them.
LAYOUT_CHOICES = ("private", "shared", "replicated-async", "replicated-sync", "shared-datadir")
MAX_APPLY_DELAY_MS = 60_000
MAX_REGION_RTT_MS = 1_000  # beyond a round trip around the Earth (~300 ms): not a region, a fault
# The layouts that can be spread over two regions: a far store (or none at all, private).
REGION_LAYOUTS = ("private", "shared", "replicated-async", "replicated-sync")
RUNTIME = "local"  # lbdemo's own container runtime (processes, layers and volumes on disk)


@dataclass(frozen=True)
class Layout:
    """The storage layout of one stack. Construct it with :meth:`from_options`."""

    name: LayoutName
    volume: str | None = None  # shared-volume: the named volume holding PostgreSQL's data
    dsn: str | None = None  # external: the user's server (may carry a password: never shown)
    apply_delay_ms: int = 0  # replicated-async: recovery_min_apply_delay on every standby
    store: StoreKind = "postgres"  # the engine (--store): postgres, redis or etcd
    read_mode: str | None = None  # etcd's --read: linearizable or serializable; None elsewhere
    # --region-rtt: the round trip between region A (replicas) and B (the store); None: one region
    region_rtt_ms: int | None = None

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

    @classmethod
    def named(
        cls,
        name: str,
        *,
        dsn: str | None = None,
        volume: str = DEFAULT_VOLUME,
        apply_delay_ms: int = 0,
        store: str = "postgres",
        read_mode: str | None = None,
        region_rtt_ms: int | None = None,
    ) -> Layout:
        """The layout ``--layouts`` names (one of :data:`LAYOUT_CHOICES`), or a UsageError."""
        if store != "postgres" or read_mode is not None:
            if region_rtt_ms is not None:
                raise UsageError("--region-rtt runs PostgreSQL's layouts; drop --store")
            return cls._engine(name, store, read_mode, dsn, volume, apply_delay_ms)
        if name not in LAYOUT_CHOICES:
            raise UsageError(
                f"--layouts: unknown layout {name!r}; choose from {', '.join(LAYOUT_CHOICES)}"
            )
        if region_rtt_ms is not None:
            check_region_rtt(region_rtt_ms)
            if name not in REGION_LAYOUTS:
                raise UsageError(
                    f"--region-rtt spreads {', '.join(REGION_LAYOUTS)} over two regions; not {name}"
                )
            if dsn is not None:
                raise UsageError("--region-rtt puts lbdemo's own store in a far region; drop --dsn")
            layout = cls.named(name, volume=volume, apply_delay_ms=apply_delay_ms)
            return replace(layout, region_rtt_ms=region_rtt_ms)
        if apply_delay_ms and name != "replicated-async":
            raise UsageError("--apply-delay applies to the replicated-async layout only")
        if name in STORAGE_CHOICES:
            return cls.from_options(name, dsn=dsn, volume=volume)
        if dsn is not None:
            raise UsageError(f"--dsn names one shared server; the {name} layout runs its own")
        if not 0 <= apply_delay_ms <= MAX_APPLY_DELAY_MS:
            raise UsageError(
                f"--apply-delay must be between 0 and {MAX_APPLY_DELAY_MS} ms, got {apply_delay_ms}"
            )
        from lbdemo.containers.names import validate_volume_name

        validate_volume_name(volume)
        return cls(name, volume=volume, apply_delay_ms=apply_delay_ms)  # type: ignore[arg-type]

    @classmethod
    def _engine(
        cls,
        name: str,
        store: str,
        read_mode: str | None,
        dsn: str | None,
        volume: str,
        apply_delay_ms: int,
    ) -> Layout:
        """A layout of a store beyond PostgreSQL (``--store redis|etcd``), or a UsageError."""
        if store not in STORE_KINDS:
            raise UsageError(f"--store must be one of {', '.join(STORE_KINDS)}, got {store!r}")
        if store == "postgres":
            raise UsageError("--read chooses etcd's read mode: it goes with --store etcd")
        layouts = LAYOUTS_OF[store]
        if name not in layouts:
            raise UsageError(f"--store {store} runs the layouts {', '.join(layouts)}, not {name!r}")
        if dsn is not None:
            raise UsageError(f"--dsn names a PostgreSQL server; --store {store} runs its own")
        if read_mode is not None and store != "etcd":
            raise UsageError("--read chooses etcd's read mode: it goes with --store etcd")
        if store == "etcd":
            read_mode = read_mode or "linearizable"
            if read_mode not in READ_MODES:
                raise UsageError(
                    f"--read must be one of {', '.join(READ_MODES)}, got {read_mode!r}"
                )
        if apply_delay_ms:
            if not 0 <= apply_delay_ms <= MAX_APPLY_DELAY_MS:
                raise UsageError(
                    f"--apply-delay must be between 0 and {MAX_APPLY_DELAY_MS} ms, "
                    f"got {apply_delay_ms}"
                )
            where = "replicated-async" if store == "redis" else "shared"
            if name != where:
                raise UsageError(f"--apply-delay with --store {store} applies to {where} only")
        from lbdemo.containers.names import validate_volume_name

        if volume == DEFAULT_VOLUME:  # PostgreSQL's: each engine keeps its data on its own
            volume = f"lbdemo-{store}data"
        validate_volume_name(volume)
        layout_name = "shared-volume" if name == "shared" else name
        return cls(
            layout_name,  # type: ignore[arg-type]
            volume=None if name == "private" else volume,
            apply_delay_ms=apply_delay_ms,
            store=store,
            read_mode=read_mode,
        )

    @property
    def postgres(self) -> bool:
        """Whether the store is PostgreSQL (every property below that names PostgreSQL is
        False for the other engines: their servers are an engine's, not containers')."""
        return self.store == "postgres"

    @property
    def engine_per_replica(self) -> bool:
        """Whether every replica container runs its own engine (Redis/etcd ``private``)."""
        return not self.postgres and self.name == "private"

    @property
    def engine_shared(self) -> bool:
        """Whether the stack runs one engine (Redis/etcd, shared or replicated) for all."""
        return not self.postgres and self.name != "private"

    @property
    def reads_served_by(self) -> str:
        """Which read mode serves a read, as reports name it: ``primary`` (the store every
        write goes to), ``standby``/``replica`` (a replicated layout's own copy), or etcd's
        ``linearizable``/``serializable``."""
        if self.read_mode is not None:
            return self.read_mode
        if self.name in ("replicated-async", "replicated-sync"):
            return "standby" if self.postgres else "replica"
        return "primary"

    @property
    def storage(self) -> str:
        """The user's word for it: ``private`` or ``shared`` (what ``--storage`` takes), or the
        layout's own name for the layouts beyond those two (what ``--layouts`` takes)."""
        if self.name == "private":
            return "private"
        return "shared" if self.name in ("shared-volume", "external") else self.name

    @property
    def store_per_replica(self) -> bool:
        """Whether every replica container runs its own PostgreSQL (on its own data directory,
        or with ``shared-datadir`` all on the one volume)."""
        return self.postgres and self.name in ("private", "shared-datadir")

    @property
    def store_container(self) -> bool:
        """Whether the stack runs one store container (on the volume) for every replica."""
        return self.postgres and self.name in (
            "shared-volume",
            "replicated-async",
            "replicated-sync",
        )

    @property
    def replicated(self) -> bool:
        """Whether each replica reads from its own streaming standby of the store container."""
        return self.postgres and self.name in ("replicated-async", "replicated-sync")

    @property
    def synchronous(self) -> bool:
        return self.name == "replicated-sync"

    @property
    def replicas_share_datadir(self) -> bool:
        return self.name == "shared-datadir"

    @property
    def far_store(self) -> bool:
        """Whether the replicas reach the store container across the regions' link."""
        return self.region_rtt_ms is not None and self.store_container

    def regions(self) -> dict[str, Any] | None:
        """What is where with ``--region-rtt`` (None without): region A, region B, and what
        crosses the link between them; for reports, ``stack.json`` and the docs' table."""
        if self.region_rtt_ms is None:
            return None
        a = ["Locust", "balancer", "replicas"]
        if self.name == "private":
            return {
                "a": [*a, "each replica's own PostgreSQL"],
                "b": [],
                "across": "nothing: every replica's store is beside it",
            }
        if self.replicated:
            mode = "synchronous (remote_apply)" if self.synchronous else "asynchronous"
            return {
                "a": [*a, f"one {mode} standby per replica (its reads)"],
                "b": ["the primary (every replica's writes)"],
                "across": "every write (replica to primary), each standby's replication stream"
                + (" and its remote_apply confirmation" if self.synchronous else ""),
            }
        return {
            "a": a,
            "b": ["the shared PostgreSQL (every replica's reads and writes)"],
            "across": "every store query of every replica",
        }

    @property
    def summary(self) -> str:
        text = self._store_summary if self.postgres else self._engine_summary()
        if self.region_rtt_ms is not None:
            where = (
                "every replica's store beside it"
                if self.name == "private"
                else "replicas and standbys in A, the primary in B"
                if self.replicated
                else "replicas in A, the store in B"
            )
            text += f"; regions {self.region_rtt_ms} ms round trip apart: {where}"
        return text

    @property
    def _store_summary(self) -> str:
        if self.name == "private":
            return "a private PostgreSQL per replica, data in its container layer"
        if self.name == "shared-volume":
            return f"one shared PostgreSQL, data on the named volume {self.volume}"
        if self.name == "replicated-async":
            delay = f", applying WAL {self.apply_delay_ms} ms late" if self.apply_delay_ms else ""
            return (
                f"one PostgreSQL primary on the named volume {self.volume}, one asynchronous "
                f"streaming standby per replica{delay}: writes to the primary, reads from "
                "the replica's standby"
            )
        if self.name == "replicated-sync":
            return (
                f"one PostgreSQL primary on the named volume {self.volume}, one synchronous "
                "standby per replica (remote_apply): writes to the primary, reads from the "
                "replica's standby"
            )
        if self.name == "shared-datadir":
            return (
                f"a PostgreSQL server per replica, all on one data directory (the named "
                f"volume {self.volume})"
            )
        assert self.dsn is not None
        return f"one shared external PostgreSQL server ({redact_dsn(self.dsn)})"

    def _engine_summary(self) -> str:
        delay = f", replication link {self.apply_delay_ms} ms late" if self.apply_delay_ms else ""
        if self.store == "redis":
            if self.name == "private":
                return "a private Redis per replica, data in its container layer"
            if self.name == "replicated-async":
                return (
                    f"one Redis primary on the named volume {self.volume}, one asynchronous "
                    f"Redis replica per replica{delay}: writes to the primary, reads from the "
                    "replica's own Redis replica"
                )
            return f"one shared Redis primary, data on the named volume {self.volume}"
        if self.name == "private":
            return "a private single-node etcd per replica, data in its container layer"
        delay = f", peer links {self.apply_delay_ms} ms late" if self.apply_delay_ms else ""
        return (
            f"one 3-member etcd cluster on the named volume {self.volume}, each replica "
            f"talking to its own member, {self.read_mode} reads{delay}"
        )

    def describe(self, runtime: str = RUNTIME) -> dict[str, Any]:
        """JSON for reports and ``stack.json``, with what ran it (``local``, ``docker`` or
        ``target``); never carries a password."""
        out: dict[str, Any] = {
            "name": self.name,
            "storage": self.storage,
            "runtime": runtime,
            "summary": self.summary,
            "store": self.store,
            "read_mode": self.reads_served_by,
        }
        if self.volume is not None:
            out["volume"] = self.volume
        if self.dsn is not None:
            out["dsn"] = redact_dsn(self.dsn)
        if self.replicated or self.name == "replicated-async":
            out["synchronous"] = self.synchronous
        if self.replicated or self.engine_shared:
            out["apply_delay_ms"] = self.apply_delay_ms
        if self.region_rtt_ms is not None:
            out["region_rtt_ms"] = self.region_rtt_ms
            out["regions"] = self.regions()
        return out


def check_region_rtt(rtt_ms: int) -> None:
    """``--region-rtt``'s range, or a one-line UsageError."""
    if not 0 <= rtt_ms <= MAX_REGION_RTT_MS:
        raise UsageError(f"--region-rtt must be between 0 and {MAX_REGION_RTT_MS} ms, got {rtt_ms}")
