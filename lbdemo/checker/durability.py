"""The durability proof: after a faulty run, every acknowledged write is accounted for.

For each key and each audited replica, the replica's final value must explain every
acknowledged write on that key:

* **final**: the write *is* the final value; or
* **superseded**: the final value is another write (acknowledged, or of unknown outcome) that
  could have been ordered after it (it had not completed before this write was invoked);
* otherwise **lost** on that replica: the final value is absent, certainly older, or a value
  no write of the history put there.

Writes of unknown outcome (a cut connection, a 502/504: they may or may not have landed) are
accounted for too: **applied** if a replica holds it at the end or a read returned it,
otherwise **not observed** (never applied, or applied and overwritten: no history can tell).

Pure functions over the history and the final audit; no I/O.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from lbdemo.checker.audit import Audit
from lbdemo.history import Op

FINAL = "final"
SUPERSEDED = "superseded"
LOST = "lost"


@dataclass(slots=True)
class KeyDurability:
    """One key: what happened to its acknowledged and unknown writes, on every replica."""

    key: str
    acknowledged: int = 0
    final: int = 0  # acknowledged writes that are the final value on every replica
    superseded: int = 0  # ... explained on every replica, by themselves or by a later write
    lost: list[Op] = field(default_factory=list)  # missing on at least one replica
    lost_on: dict[str, int] = field(default_factory=dict)  # replica -> writes it lost
    unknown: int = 0
    unknown_applied: int = 0
    unknown_not_observed: int = 0
    final_values: dict[str, str | None] = field(default_factory=dict)  # replica -> write id

    @property
    def durable(self) -> bool:
        return not self.lost

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "acknowledged": self.acknowledged,
            "final": self.final,
            "superseded": self.superseded,
            "lost": len(self.lost),
            "lost_on": dict(sorted(self.lost_on.items())),
            "unknown": self.unknown,
            "unknown_applied": self.unknown_applied,
            "unknown_not_observed": self.unknown_not_observed,
            "final_values": dict(sorted(self.final_values.items())),
        }


@dataclass(slots=True)
class DurabilityProof:
    keys: dict[str, KeyDurability]
    replicas: list[str]

    def lost_writes(self) -> list[Op]:
        return sorted((w for k in self.keys.values() for w in k.lost), key=lambda w: w.invoke)

    def totals(self) -> dict[str, int]:
        keys = self.keys.values()
        return {
            "keys": len(self.keys),
            "durable_keys": sum(1 for k in keys if k.durable),
            "acknowledged": sum(k.acknowledged for k in keys),
            "final": sum(k.final for k in keys),
            "superseded": sum(k.superseded for k in keys),
            "lost": sum(len(k.lost) for k in keys),
            "unknown": sum(k.unknown for k in keys),
            "unknown_applied": sum(k.unknown_applied for k in keys),
            "unknown_not_observed": sum(k.unknown_not_observed for k in keys),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "replicas": self.replicas,
            "totals": self.totals(),
            "keys": [self.keys[k].to_dict() for k in sorted(self.keys)],
        }


def prove_durability(ops: list[Op], audit: Audit) -> DurabilityProof:
    """Account for every acknowledged and every unknown write of ``ops`` against ``audit``."""
    writes: dict[str, list[Op]] = defaultdict(list)
    by_id: dict[str, Op] = {}
    seen_by_reads: set[str] = set()
    for op in ops:
        if op.op == "write" and op.outcome != "fail" and op.write_id:
            writes[op.key].append(op)
            by_id[op.write_id] = op
        elif op.op == "read" and op.outcome == "ok" and op.write_id:
            seen_by_reads.add(op.write_id)
    replicas = sorted(audit.replicas)
    keys: dict[str, KeyDurability] = {}
    for key in sorted(writes.keys() | audit.keys()):
        finals = {name: audit.replicas[name].get(key) for name in replicas}
        result = KeyDurability(key, final_values=finals)
        for w in writes.get(key, []):
            if w.outcome == "ok":
                _account_acknowledged(result, w, finals, by_id)
            else:
                result.unknown += 1
                held = w.write_id in finals.values()
                if held or w.write_id in seen_by_reads:
                    result.unknown_applied += 1
                else:
                    result.unknown_not_observed += 1
        keys[key] = result
    return DurabilityProof(keys, replicas)


def _account_acknowledged(
    result: KeyDurability, w: Op, finals: dict[str, str | None], by_id: dict[str, Op]
) -> None:
    result.acknowledged += 1
    verdicts = {name: explain(w, final, by_id) for name, final in finals.items()}
    if LOST in verdicts.values():
        result.lost.append(w)
        for name, verdict in verdicts.items():
            if verdict == LOST:
                result.lost_on[name] = result.lost_on.get(name, 0) + 1
    elif verdicts and all(v == FINAL for v in verdicts.values()):
        result.final += 1
    else:
        result.superseded += 1


def explain(w: Op, final: str | None, by_id: dict[str, Op]) -> str:
    """How a replica whose final value is ``final`` accounts for acknowledged write ``w``."""
    if final == w.write_id:
        return FINAL
    later = by_id.get(final) if final is not None else None
    if later is None or later.key != w.key:
        return LOST  # absent, or a value this history never wrote
    completed = later.complete if later.outcome == "ok" else math.inf
    # Certainly before w only if it was acknowledged before w was even sent.
    return LOST if completed < w.invoke else SUPERSEDED


def render_durability(proof: dict[str, Any], *, limit: int = 20) -> str:
    """A proof (its :meth:`DurabilityProof.to_dict`, as stored in a report) as Markdown: the
    totals in a sentence, then one row per key (the ``limit`` first, lost keys first)."""
    t = proof["totals"]
    lines = [
        f"Acknowledged writes: {t['acknowledged']:,}; final value on every replica: "
        f"{t['final']:,}; superseded by a later write: {t['superseded']:,}; **lost: "
        f"{t['lost']:,}**. Writes of unknown outcome: {t['unknown']:,} ({t['unknown_applied']:,} "
        f"applied, seen at the end or by a read; {t['unknown_not_observed']:,} not observed). "
        f"Keys durable on every audited replica: {t['durable_keys']:,} of {t['keys']:,}.",
        "",
        "| key | acknowledged | final | superseded | lost (on which replicas) "
        "| unknown: applied / not observed |",
        "|---|---:|---:|---:|---|---:|",
    ]
    ordered = sorted(proof["keys"], key=lambda k: (k["lost"] == 0, k["key"]))
    for k in ordered[:limit]:
        where = ", ".join(f"{name}: {n:,}" for name, n in sorted(k["lost_on"].items()))
        lost = f"{k['lost']:,}" + (f" ({where})" if where else "")
        lines.append(
            f"| {k['key']} | {k['acknowledged']:,} | {k['final']:,} | {k['superseded']:,} "
            f"| {lost} | {k['unknown_applied']:,} / {k['unknown_not_observed']:,} |"
        )
    if len(ordered) > limit:
        lines.append(f"| ... {len(ordered) - limit:,} more keys | | | | | |")
    return "\n".join(lines) + "\n"
