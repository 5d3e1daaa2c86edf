"""Stores beyond PostgreSQL: which kinds there are, and what a stack asks of an engine.

A *store kind* (``--store``) is the engine the replicas keep their products in: ``postgres``
(the default: embedded PostgreSQL, :mod:`lbdemo.store.embedded`), ``redis`` or ``etcd``. The
choice travels in the :class:`~lbdemo.deploy.layout.Layout` (``layout.store``, with
``layout.read_mode``) and reaches a replica process as the *scheme* of its store URL
(``redis://127.0.0.1:PORT``, ``etcd://127.0.0.1:PORT?read=serializable``): the replica opens
whatever URL it is given through :func:`lbdemo.store.factory.open_store`, so its HTTP handlers
never know which engine serves them.

For the kinds other than ``postgres`` the stack runs a :class:`StoreEngine`: the engine's own
servers (``redis-server``; ``etcd`` members) as lbdemo's children on 127.0.0.1. The local
runtime starts one engine per stack for the shared layouts (before the replicas, stopped after
them) and one per replica container for ``private`` (data in that container's layer, started and
stopped with the container, like a private PostgreSQL).
:func:`lbdemo.store.factory.make_engine` picks the class by kind; each engine module provides
one class with the constructor ``Engine(spec)``: :class:`lbdemo.store.redis_engine.RedisEngine`,
``lbdemo.store.etcd_engine.EtcdEngine``.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from lbdemo.errors import StoreError

StoreKind = Literal["postgres", "redis", "etcd"]
STORE_KINDS: tuple[StoreKind, ...] = ("postgres", "redis", "etcd")
# etcd's two read modes (``--read``): through the leader's read index, or a member's own state
READ_MODES = ("linearizable", "serializable")
# The binary each engine needs, looked up on PATH (scripts/ensure-stores installs them)
ENGINE_BINARIES: dict[str, str] = {"redis": "redis-server", "etcd": "etcd"}
ENGINE_PACKAGES: dict[str, str] = {"redis": "redis-server", "etcd": "etcd-server"}  # Debian's
# The layouts each kind runs, in the vocabulary of ``--storage`` / ``--layouts``
LAYOUTS_OF: dict[str, tuple[str, ...]] = {
    "redis": ("private", "shared", "replicated-async"),
    "etcd": ("private", "shared"),
}


@dataclass(frozen=True)
class EngineSpec:
    """What the stack asks of one engine.

    ``layout`` is ``private`` (one single-node engine for one replica), ``shared`` (one engine
    every replica uses: Redis one primary, etcd a 3-member cluster) or ``replicated-async``
    (Redis: one primary and one replica server per lbdemo replica). ``readers`` is how many
    lbdemo replicas will ask for a URL (:meth:`StoreEngine.store_url` takes 0..readers-1; a
    larger index wraps around). ``data_dir`` is the engine's own directory (made if missing):
    a container layer for ``private``, the named volume's data directory for the shared layouts.
    ``log_dir`` takes its log files. ``password`` is the state root's secret for the engine
    (:func:`lbdemo.store.secret.load_or_create_secret`), or None where the engine has no
    authentication lbdemo uses. ``apply_delay_ms``: the replication (Redis) or peer (etcd) link
    holds every byte from the leader/primary that long (lbdemo's fault proxy), 0 for none.
    """

    kind: StoreKind
    layout: str
    data_dir: Path
    log_dir: Path
    name: str = "store"  # for log file names and messages: the container or "lbdemo-db"
    password: str | None = None
    readers: int = 1
    apply_delay_ms: int = 0
    read_mode: str = "linearizable"


class StoreEngine(Protocol):
    """One engine's servers, run by lbdemo; every method may raise :class:`StoreError`."""

    async def start(self) -> None:
        """Every server started and answering (data kept in ``spec.data_dir``)."""
        ...

    async def stop(self) -> None:
        """Every server stopped (SIGTERM, SIGKILL after a timeout); safe to call twice and after
        a failed start."""
        ...

    @property
    def processes(self) -> list[asyncio.subprocess.Process]:
        """The running servers' processes (what the supervisor watches and signals)."""
        ...

    def store_url(self, index: int) -> str:
        """Where lbdemo replica ``index`` writes (and reads, unless :meth:`read_url` says
        otherwise): a password-free URL whose scheme is the kind, e.g. ``redis://127.0.0.1:P``
        or ``etcd://127.0.0.1:P?read=serializable``."""
        ...

    def read_url(self, index: int) -> str | None:
        """Where replica ``index`` reads when that is another server (Redis replicated-async:
        its own Redis replica), else None."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON for ``stack.json`` and the reports: servers, ports, pids, data (no password)."""
        ...


def engine_binary(kind: str) -> str:
    """The path of the engine's server binary, or a one-line StoreError naming how to get it."""
    name = ENGINE_BINARIES[kind]
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        raise StoreError(
            f"--store {kind} needs {name}, which is not installed "
            f"(scripts/ensure-stores, or apt-get install {ENGINE_PACKAGES[kind]})"
        )
    return found


def engine_version(kind: str) -> str | None:
    """The engine's version as its binary says it (``7.0.15``, ``3.4.23``), for a report's
    provenance; None when it cannot be told (never an error: provenance only)."""
    try:
        out = subprocess.run(
            [engine_binary(kind), "--version"], capture_output=True, text=True, timeout=5
        ).stdout
    except (StoreError, OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(?:v=|Version:\s*)(\d+\.\d+\.\d+)", out)
    return found[1] if found else None
