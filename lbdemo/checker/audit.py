"""The final audit: what each replica holds after the run, and the lost writes it reveals.

The audit is taken by asking every replica directly (not through the balancer) for every key.
With shared storage every replica answers from the same database, so they agree; with private
storage each replica answers from its own, and the *divergent keys* show it.

A *lost write* is an acknowledged write that no replica holds at the end although no other write
on its key could have been ordered after it (every other write, acknowledged or of unknown
outcome, completed before it was invoked): it should be the final value somewhere, and is not.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lbdemo.checker.anomalies import LOST_WRITE, Anomaly, AnomalyLog, at
from lbdemo.errors import UsageError
from lbdemo.files import read_json
from lbdemo.history import Op

AUDIT_FORMAT = "lbdemo-audit/1"


@dataclass(slots=True)
class Audit:
    """``replicas[name][key]`` is the write_id that replica holds (None or missing: absent);
    ``rows[name]`` is how many rows its store holds."""

    replicas: dict[str, dict[str, str | None]]
    rows: dict[str, int] = field(default_factory=dict)

    def keys(self) -> set[str]:
        out: set[str] = set()
        for values in self.replicas.values():
            out.update(values)
        return out

    def holders(self, key: str, write_id: str) -> list[str]:
        """The replicas whose final value of ``key`` is ``write_id``."""
        return [name for name, values in self.replicas.items() if values.get(key) == write_id]

    def divergent_keys(self) -> list[str]:
        """Keys on which the replicas disagree (including a value on one, absent on another)."""
        out = []
        for key in sorted(self.keys()):
            if len({values.get(key) for values in self.replicas.values()}) > 1:
                out.append(key)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"format": AUDIT_FORMAT, "replicas": self.replicas, "rows": self.rows}


def restrict(audit: Audit, keys: Iterable[str]) -> Audit:
    """The part of ``audit`` about ``keys`` (a key a replica lacks stays None: absent)."""
    wanted = set(keys)
    values = {
        name: {key: products.get(key) for key in wanted}
        for name, products in audit.replicas.items()
    }
    rows = {
        name: sum(1 for v in products.values() if v is not None)
        for name, products in values.items()
    }
    return Audit(replicas=values, rows=rows)


def audit_from_dict(data: object, source: str = "audit") -> Audit:
    """Validate a decoded audit JSON document; raises UsageError naming what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("replicas"), dict):
        raise UsageError(f"{source}: not an lbdemo audit (needs a 'replicas' object)")
    fmt = data.get("format", AUDIT_FORMAT)
    if fmt != AUDIT_FORMAT:
        raise UsageError(f"{source}: unsupported audit format {fmt!r}")
    replicas: dict[str, dict[str, str | None]] = {}
    for name, values in data["replicas"].items():
        if not isinstance(values, dict) or not all(
            isinstance(v, str) or v is None for v in values.values()
        ):
            raise UsageError(f"{source}: replica {name!r} must map keys to write ids or null")
        replicas[str(name)] = dict(values)
    rows = data.get("rows", {})
    if not isinstance(rows, dict) or not all(type(v) is int for v in rows.values()):
        raise UsageError(f"{source}: 'rows' must map replica names to integers")
    return Audit(replicas=replicas, rows=dict(rows))


def load_audit(path: str | os.PathLike[str]) -> Audit:
    # An audit holds one write id per key and replica: 256 MiB is millions of keys.
    data = read_json(path, "audit", 256 << 20)
    return audit_from_dict(data, str(path))


def find_lost_writes(ops: list[Op], audit: Audit, log: AnomalyLog, t0: float) -> None:
    """Add to ``log`` each acknowledged write that should have survived but is on no replica."""
    by_key: dict[str, list[Op]] = {}
    for op in ops:
        if op.op == "write" and op.outcome != "fail":
            by_key.setdefault(op.key, []).append(op)
    for key, writes in by_key.items():
        # Only the write invoked after every other write completed can be the certain last one;
        # keep the two latest completions so "every other" excludes the write itself.
        first = second = -math.inf
        for w in writes:
            c = w.complete if w.outcome == "ok" else math.inf
            if c > first:
                first, second = c, first
            elif c > second:
                second = c
        for w in writes:
            if w.outcome != "ok":
                continue
            own = w.complete
            others = second if own == first else first
            if others >= w.invoke:
                continue  # another write may have been ordered after it and overwritten it
            if audit.holders(key, w.write_id or ""):
                continue
            _add_lost(log, w, audit, t0)


def _add_lost(log: AnomalyLog, w: Op, audit: Audit, t0: float) -> None:
    log.add(LOST_WRITE, w, _explain_lost, audit, t0)


def _explain_lost(w: Op, audit: Audit, t0: float) -> Anomaly:
    found = (
        ", ".join(
            f"{name}: {values.get(w.key) or 'absent'}"
            for name, values in sorted(audit.replicas.items())
        )
        or "no replica audited"
    )
    text = (
        f"write {w.write_id} on {w.key} by {w.client}, invoked at {at(w.invoke, t0)} and "
        f"acknowledged at {at(w.complete, t0)} via {w.replica or '?'}, is on no replica at "
        f"the final audit ({found}), though no other write on {w.key} could have "
        "overwritten it"
    )
    return Anomaly(LOST_WRITE, (w,), text, t0)
