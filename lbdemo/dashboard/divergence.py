"""Divergent keys the live page can count without a false alarm, and the key worth watching.

The replicas are listed one after the other while writes land, so two listings that differ do
not prove that the replicas ever disagreed: with shared storage, replica A may be listed just
before a write and replica B just after it. The page therefore lists every replica twice, the
second round starting only once the whole first round has answered (a moment T lies between
the two rounds of every replica), and compares a key only where every replica answered the
same value in both rounds. Each listing is one SELECT, a consistent view at one instant, and a
value is a write id, which the workload never writes twice (and no product is ever deleted, so
an absence cannot come back either). So a replica that answered v
before T and v after T held v at T (a value that changed would have needed the same write id
written again to come back). If two replicas held steady on different values, they held them
*at the same moment T*: a real divergence. Shared storage has one value per key at T, so it
cannot be counted there; private storage's replicas, which never converge, still are.
"""

from __future__ import annotations

from collections import deque

Listing = dict[str, str | None]  # product id -> write id, as ``GET /products`` answers
HOT_WINDOW = 10  # samples over which the hottest key is the one that changed most often


def steady_divergence(
    first: dict[str, Listing], second: dict[str, Listing]
) -> tuple[set[str], int]:
    """(keys whose steady values differ between replicas, keys compared).

    Only replicas listed in both rounds count; a key is compared when each of them answered the
    same value (or the same absence) in both rounds.
    """
    names = [name for name in first if name in second]
    if len(names) < 2:
        return set(), 0
    keys: set[str] = set()
    for name in names:
        keys.update(first[name])
        keys.update(second[name])
    divergent: set[str] = set()
    compared = 0
    for key in keys:
        before = [first[name].get(key) for name in names]
        after = [second[name].get(key) for name in names]
        if before != after:
            continue  # a write landed on some replica between the rounds: not comparable
        compared += 1
        if len(set(before)) > 1:
            divergent.add(key)
    return divergent, compared


class HotKeys:
    """Which key changed most often over the last samples (ties: the smallest id); once writes
    stop, the last such key stays (the one write of the talk stays on the page)."""

    def __init__(self, window: int = HOT_WINDOW) -> None:
        self._changes: deque[set[str]] = deque(maxlen=window)
        self._previous: dict[str, Listing] | None = None
        self._last: str | None = None

    def observe(self, listings: dict[str, Listing]) -> None:
        changed: set[str] = set()
        if self._previous is not None:
            for name, listing in listings.items():
                before = self._previous.get(name)
                if before is None:
                    continue
                for key in set(listing) | set(before):
                    if listing.get(key) != before.get(key):
                        changed.add(key)
        self._changes.append(changed)
        self._previous = listings

    def hottest(self) -> str | None:
        counts: dict[str, int] = {}
        for changed in self._changes:
            for key in changed:
                counts[key] = counts.get(key, 0) + 1
        if counts:
            self._last = min(counts, key=lambda k: (-counts[k], k))
        return self._last
