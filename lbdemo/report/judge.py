"""Judging a report against limits, for people (one line each) and CI (one JUnit testcase each).

:func:`judge` turns a report and :class:`Limits` into one :class:`Judgement` per anomaly kind,
divergent keys, linearizability and (when expected) the verdict. A judgement with no limit on it
is *not checked* (``passed is None``), never a pass that could not have failed.

Limits: ``--expect consistent`` allows no anomaly of any kind; ``--max-stale-rate R`` allows a
stale-read rate up to R (0..1) instead; ``--max-lost-writes N`` allows up to N lost writes
instead, and fails a report without a final audit (its lost writes were not measured).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lbdemo.report.figures import COUNT, PERCENT, figure
from lbdemo.report.markdown import KIND_LABELS, verdict_reason

CONSISTENT = "consistent"
DETAILS_PER_JUDGEMENT = 5


@dataclass(frozen=True)
class Limits:
    expect: str | None = None  # "consistent" | "inconsistent"
    max_stale_rate: float | None = None
    max_lost_writes: int | None = None

    @property
    def any(self) -> bool:
        return (self.expect, self.max_stale_rate, self.max_lost_writes) != (None, None, None)


@dataclass(frozen=True)
class Judgement:
    name: str  # stable: CI keeps a testcase's history by it
    passed: bool | None  # None: no limit applies, nothing was checked
    message: str
    asked: bool = False  # named by a flag (--expect, --max-...), not implied by --expect
    details: list[str] = field(default_factory=list)


def judge(report: dict[str, Any], limits: Limits) -> list[Judgement]:
    out = []
    if limits.expect is not None:
        out.append(_verdict(report, limits.expect))
    strict = limits.expect == CONSISTENT
    for kind, label in KIND_LABELS.items():
        if kind == "stale_read" and limits.max_stale_rate is not None:
            out.append(_stale_rate(report, limits.max_stale_rate))
        elif kind == "lost_write" and limits.max_lost_writes is not None:
            out.append(_lost_writes(report, limits.max_lost_writes))
        else:
            out.append(_none_allowed(report, kind, label, strict))
    out += [_divergent(report, strict), _linearizability(report, strict)]
    return out


def _explanations(report: dict[str, Any], kind: str) -> list[str]:
    return [
        a["explanation"] for a in report.get("explained_anomalies", []) if a.get("kind") == kind
    ][:DETAILS_PER_JUDGEMENT]


def _anomaly(report: dict[str, Any], kind: str) -> tuple[int | None, float | None]:
    """Count and rate; lost writes from ``lost_writes``, which says ``None`` (not 0) when the
    run had no final audit to find them."""
    entry = (
        report.get("lost_writes") if kind == "lost_write" else report["anomalies"].get(kind)
    ) or {}
    return entry.get("count"), entry.get("rate")


def _verdict(report: dict[str, Any], expect: str) -> Judgement:
    verdict, reason = report["verdict"], verdict_reason(report)
    if verdict == expect:
        return Judgement("verdict", True, f"as expected: {verdict} ({reason})", asked=True)
    return Judgement(
        "verdict", False, f"expected {expect}, but the run is {verdict} ({reason})", asked=True
    )


def _stale_rate(report: dict[str, Any], limit: float) -> Judgement:
    count, rate = _anomaly(report, "stale_read")
    said = (
        f"stale-read rate {figure(rate, PERCENT)} ({figure(count, COUNT)} stale reads), "
        f"limit {figure(limit, PERCENT)} (--max-stale-rate {limit:g})"
    )
    passed = rate is not None and rate <= limit
    return Judgement(
        "stale reads",
        passed,
        ("ok: " if passed else "over the limit: ") + said,
        asked=True,
        details=[] if passed else _explanations(report, "stale_read"),
    )


def _lost_writes(report: dict[str, Any], limit: int) -> Judgement:
    count, _ = _anomaly(report, "lost_write")
    flag = f"--max-lost-writes {limit}"
    if count is None:
        return Judgement(
            "lost writes",
            False,
            f"lost writes not measured (the run has no final "
            f"audit), so {flag} cannot be shown to hold",
            asked=True,
        )
    said = f"{figure(count, COUNT)} lost writes, limit {figure(limit, COUNT)} ({flag})"
    passed = count <= limit
    return Judgement(
        "lost writes",
        passed,
        ("ok: " if passed else "over the limit: ") + said,
        asked=True,
        details=[] if passed else _explanations(report, "lost_write"),
    )


def _none_allowed(report: dict[str, Any], kind: str, label: str, strict: bool) -> Judgement:
    count, rate = _anomaly(report, kind)
    if count is None:
        return Judgement(label, None, f"{label}: not measured")
    said = f"{figure(count, COUNT)} {label} ({figure(rate, PERCENT)})"
    if not strict:
        return Judgement(label, None, f"{said}; no limit given")
    passed = count == 0
    return Judgement(
        label,
        passed,
        f"{said}; none allowed (--expect consistent)",
        details=[] if passed else _explanations(report, kind),
    )


def _divergent(report: dict[str, Any], strict: bool) -> Judgement:
    div = report.get("divergent_keys") or {}
    count = div.get("count")
    if count is None:
        return Judgement("divergent keys", None, "divergent keys: not measured (no final audit)")
    said = f"{figure(count, COUNT)} keys on which the replicas disagree"
    if not strict:
        return Judgement("divergent keys", None, f"{said}; no limit given")
    return Judgement(
        "divergent keys",
        count == 0,
        f"{said}; none allowed (--expect consistent)",
        details=[str(k) for k in div.get("examples", [])][:DETAILS_PER_JUDGEMENT],
    )


def _linearizability(report: dict[str, Any], strict: bool) -> Judgement:
    lin = report.get("linearizability") or {}
    bad = lin.get("keys_not_linearizable")
    if bad is None:
        return Judgement("linearizability", None, "linearizability: not checked")
    said = f"{figure(bad, COUNT)} keys not linearizable"
    if not strict:
        return Judgement("linearizability", None, f"{said}; no limit given")
    return Judgement(
        "linearizability",
        bad == 0,
        f"{said}; none allowed (--expect consistent)",
        details=[w["witness"] for w in lin.get("witnesses", [])],
    )
