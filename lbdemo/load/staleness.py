"""The live stale-read signal: reads that no linearizable store could have returned.

The offline checker is the source of truth; this detector only catches the obvious cases one
Locust process can see by itself, so that Locust's console, CSV and HTML show them while the
test runs. It knows the writes *this process* got acknowledged, with their invoke and complete
times, and calls a read of key ``k`` invoked at ``t`` stale when some acknowledged write ``W``
of ``k`` completed before ``t`` and the read returned

* "not found" (keys are never deleted, so ``W`` must be visible), or
* a write ``X`` whose own ``complete`` is before ``W``'s ``invoke`` (``X`` was overwritten in
  real time before the read began).

Both rules only ever use facts that are certain, so a read it flags is stale; a read it passes
may still be stale (writes of other processes, writes whose outcome is unknown).
Imports only the standard library (it runs inside Locust's gevent process).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field


@dataclass
class _KeyWrites:
    # (complete, invoke) of acknowledged writes, appended in completion order.
    recent: deque[tuple[float, float]] = field(default_factory=deque)
    # The pruned writes summarised: the latest completion and the latest invoke among them.
    pruned_complete: float = float("-inf")
    pruned_invoke: float = float("-inf")
    # The earliest completion of any acknowledged write: from then on the key exists.
    first_complete: float = float("inf")


class StaleReadDetector:
    """Remembers acknowledged writes per key and judges reads against them.

    Memory is bounded: per key only the last ``writes_per_key`` acknowledged writes are kept
    individually (older ones are folded into one summary that stays sound), and at most
    ``known_writes`` write ids are remembered for the second rule.
    """

    def __init__(self, *, writes_per_key: int = 1024, known_writes: int = 500_000) -> None:
        self._writes_per_key = writes_per_key
        self._known_limit = known_writes
        self._keys: dict[str, _KeyWrites] = {}
        # write_id -> complete time of that acknowledged write, oldest first.
        self._known: OrderedDict[str, float] = OrderedDict()
        self.stale_reads = 0

    def write_acknowledged(self, key: str, write_id: str, invoke: float, complete: float) -> None:
        writes = self._keys.get(key)
        if writes is None:
            writes = self._keys[key] = _KeyWrites()
        writes.recent.append((complete, invoke))
        writes.first_complete = min(writes.first_complete, complete)
        if len(writes.recent) > self._writes_per_key:
            old_complete, old_invoke = writes.recent.popleft()
            writes.pruned_complete = max(writes.pruned_complete, old_complete)
            writes.pruned_invoke = max(writes.pruned_invoke, old_invoke)
        self._known[write_id] = complete
        if len(self._known) > self._known_limit:
            self._known.popitem(last=False)

    def check_read(self, key: str, write_id: str | None, invoke: float) -> str | None:
        """Why a read invoked at ``invoke`` returning ``write_id`` (None: 404) is stale, or None."""
        if write_id is None:
            writes = self._keys.get(key)
            if writes is not None and writes.first_complete < invoke:
                self.stale_reads += 1
                return "not found after an acknowledged write"
            return None
        latest_invoke = self._latest_invoke_completed_before(key, invoke)
        if latest_invoke is None:
            return None
        returned_complete = self._known.get(write_id)
        if returned_complete is not None and returned_complete < latest_invoke:
            self.stale_reads += 1
            return "returned a write overwritten before the read began"
        return None

    def _latest_invoke_completed_before(self, key: str, t: float) -> float | None:
        """The latest ``invoke`` of the acknowledged writes of ``key`` completed before ``t``."""
        writes = self._keys.get(key)
        if writes is None:
            return None
        best = float("-inf")
        for complete, invoke in reversed(writes.recent):
            if complete >= t:
                continue
            # Every earlier write was invoked before it completed, i.e. before `complete`;
            # once `complete` <= best none of them can beat best, so the scan stays short.
            if complete <= best:
                break
            best = max(best, invoke)
        else:
            if writes.pruned_complete < t:
                best = max(best, writes.pruned_invoke)
        return best if best > float("-inf") else None
