"""How the next replica is chosen. Each strategy is an object that owns its state.

``pick(replicas, key, exclude)`` gets the full ordered membership (a strategy skips replicas that
are not ``available``), the request's stickiness key (bytes or None) and replicas already tried
for this request; it returns a replica or None when none is eligible. All of it runs on one event
loop, so ``i = self._next; self._next = i + 1`` needs no lock.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Sequence
from typing import Protocol

from lbdemo.balancer.pool import Replica
from lbdemo.errors import UsageError

_NOTHING: tuple[Replica, ...] = ()


class Strategy(Protocol):
    name: str

    def pick(
        self, replicas: Sequence[Replica], key: bytes | None, exclude: Collection[Replica] = ()
    ) -> Replica | None: ...


class RoundRobin:
    """Each request goes to the next available replica in membership order."""

    name = "round-robin"

    def __init__(self) -> None:
        self._next = 0

    def pick(
        self, replicas: Sequence[Replica], key: bytes | None, exclude: Collection[Replica] = ()
    ) -> Replica | None:
        n = len(replicas)
        start = self._next
        if start < n and not exclude:
            # The common case, without the loop: the replica whose turn it is can take it.
            replica = replicas[start]
            if replica.available:
                self._next = start + 1 if start + 1 < n else 0
                return replica
        for k in range(n):
            i = (start + k) % n
            replica = replicas[i]
            if replica.available and replica not in exclude:
                self._next = (i + 1) % n
                return replica
        return None


class LeastConn:
    """The available replica with the fewest requests in flight; ties go round robin."""

    name = "least-conn"

    def __init__(self) -> None:
        self._next = 0

    def pick(
        self, replicas: Sequence[Replica], key: bytes | None, exclude: Collection[Replica] = ()
    ) -> Replica | None:
        n = len(replicas)
        best: Replica | None = None
        best_i = 0
        start = self._next
        for k in range(n):
            i = (start + k) % n
            replica = replicas[i]
            if not replica.available or replica in exclude:
                continue
            if best is None or replica.in_flight < best.in_flight:
                best, best_i = replica, i
        if best is not None:
            self._next = (best_i + 1) % n
        return best


class Random:
    """A uniformly random available replica."""

    name = "random"

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def pick(
        self, replicas: Sequence[Replica], key: bytes | None, exclude: Collection[Replica] = ()
    ) -> Replica | None:
        choices = [r for r in replicas if r.available and r not in exclude]
        return self._rng.choice(choices) if choices else None


class Sticky:
    """The same key goes to the same replica (rendezvous hashing); no key → round robin.

    Rendezvous (highest random weight) hashing moves only the keys of a replica that leaves,
    and keeps no table that could grow with the number of clients.
    """

    name = "sticky"

    def __init__(self, header: str = "X-Client-Id", cookie: str | None = None) -> None:
        self.header = header.lower().encode("latin-1")
        self.cookie = cookie.encode("latin-1") if cookie else None
        self._fallback = RoundRobin()

    def pick(
        self, replicas: Sequence[Replica], key: bytes | None, exclude: Collection[Replica] = ()
    ) -> Replica | None:
        if not key:
            return self._fallback.pick(replicas, key, exclude)
        best: Replica | None = None
        best_score = b""
        for replica in replicas:
            if not replica.available or replica in exclude:
                continue
            score = hashlib.blake2b(key + b"\0" + replica.name.encode(), digest_size=8).digest()
            if best is None or score > best_score:
                best, best_score = replica, score
        return best

    def key_from(self, header_value: bytes | None, cookie_header: bytes | None) -> bytes | None:
        """The stickiness key: the configured cookie when set and present, else the header."""
        if self.cookie is not None and cookie_header:
            for part in cookie_header.split(b";"):
                name, _, value = part.strip().partition(b"=")
                if name == self.cookie and value:
                    return value
        return header_value


def make_strategy(
    name: str, sticky_header: str = "X-Client-Id", sticky_cookie: str | None = None
) -> Strategy:
    """Build the strategy called ``name`` (as given to ``--strategy``)."""
    if name == "round-robin":
        return RoundRobin()
    if name == "least-conn":
        return LeastConn()
    if name == "random":
        return Random()
    if name == "sticky":
        return Sticky(sticky_header, sticky_cookie)
    raise UsageError(f"unknown strategy {name!r}")
