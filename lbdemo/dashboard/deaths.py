"""Cards of killed containers: shown long enough to be seen, never after they stopped mattering.

A replacement arrives within one sampling period, so a card that went away with its container
would never be seen red. A death keeps its container's last card on the page for
``DEAD_FOR_S`` seconds, counted again from its replacement's arrival (beside which it stays,
naming its id, however slowly a loaded machine started it), and no longer: a rolling upgrade
that ran after the death drops it at once, since the upgrade replaced every replica there was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

DEAD_FOR_S = 8.0


@dataclass
class _Death:
    card: dict[str, Any]
    exit_code: Any
    died_at: float
    until: float  # when the card goes
    replaced_by: str | None = None


class DeadCards:
    """Follows a runtime's events (read, never changed) and keeps the cards of the dead."""

    def __init__(self, dead_for_s: float = DEAD_FOR_S) -> None:
        self.dead_for_s = dead_for_s
        self._seen = 0
        self._deaths: dict[str, _Death] = {}  # container id -> its death

    def update(self, events: list[dict[str, Any]], last_cards: dict[str, dict[str, Any]]) -> None:
        """Read the events since the last call; ``last_cards``: the previous sample's cards by
        container id (what a dead container looked like just before)."""
        now = time.time()
        new, self._seen = events[self._seen :], len(events)
        for event in new:
            kind = event.get("event")
            if kind == "die" and event.get("id") in last_cards:
                card = last_cards[str(event["id"])]
                death = _Death(card, event.get("exit_code"), now, now + self.dead_for_s)
                self._deaths[str(event["id"])] = death
            elif kind == "replace" and str(event.get("old_id")) in self._deaths:
                death = self._deaths[str(event["old_id"])]
                death.replaced_by = str(event.get("new_id"))[:12]
                death.until = now + self.dead_for_s  # the replacement is seen beside it
            elif kind in ("upgrade", "destroy", "restart"):
                # an upgrade moved past them all; a removal or restart ends that container's story
                if kind == "upgrade":
                    self._deaths.clear()
                else:
                    self._deaths.pop(str(event.get("id")), None)

    def cards(self, running_ids: set[str]) -> list[dict[str, Any]]:
        """The dead cards to show now (none for a container that runs again)."""
        now = time.time()
        for cid in [c for c, d in self._deaths.items() if now > d.until]:
            del self._deaths[cid]
        return [
            {
                **death.card,
                "health": f"died, exit status {death.exit_code}",
                "rotation": "out",
                "rps": 0.0,
                "in_flight": 0,
                "rows": None,
                "dead": True,
                "died_at": round(death.died_at, 3),
                "dead_for_s": self.dead_for_s,
                "replaced_by": death.replaced_by,
            }
            for cid, death in self._deaths.items()
            if cid not in running_ids
        ]
