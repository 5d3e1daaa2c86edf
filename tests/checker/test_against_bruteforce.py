"""The checker against an exhaustive search, on thousands of small random histories.

The zone check must give the brute force's verdict on every key, and every read anomaly the
per-read and per-client rules report must come with a non-linearizable key (each rule is a
proof that no legal order exists). Times are small integers so that equal timestamps (a read
invoked at the very instant a write completed, zero-length operations) are common.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lbdemo.checker import check
from lbdemo.checker.anomalies import READ_KINDS
from lbdemo.history import Op
from tests.checker.bruteforce import linearizable
from tests.checker.opbuild import H, price_of


@st.composite
def histories(draw: st.DrawFn) -> list[Op]:
    """1-3 clients, one key, each client one operation at a time (touching allowed)."""
    n_clients = draw(st.integers(1, 3))
    plans = []
    write_ids: list[str] = []
    for c in range(n_clients):
        t = draw(st.integers(0, 3))
        for i in range(draw(st.integers(1, 3))):
            duration = draw(st.integers(0, 4))
            is_write = draw(st.booleans())
            plans.append((f"u{c}", i, is_write, t, t + duration))
            if is_write:
                write_ids.append(f"u{c}-{i}")
            t += duration + draw(st.integers(0, 2))
    ops = []
    for client, i, is_write, inv, comp in plans:
        if is_write:
            wid = f"{client}-{i}"
            outcome = draw(st.sampled_from(["ok", "ok", "ok", "unknown", "fail"]))
            status = {"ok": 200, "unknown": None, "fail": 503}[outcome]
            ops.append(
                Op(
                    client,
                    "write",
                    "p1",
                    wid,
                    price_of(wid),
                    float(inv),
                    float(comp),
                    status,
                    outcome,
                    "r1",
                )
            )
        else:
            value = draw(st.sampled_from([None, *write_ids]))
            outcome = draw(st.sampled_from(["ok", "ok", "ok", "ok", "fail"]))
            ops.append(
                Op(
                    client,
                    "read",
                    "p1",
                    value,
                    price_of(value),
                    float(inv),
                    float(comp),
                    404 if value is None else 200,
                    outcome,
                    "r1",
                )
            )
    return ops


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_zone_check_and_anomalies_agree_with_brute_force(ops: list[Op]) -> None:
    result = check(H(*ops))
    expected = linearizable(ops)
    verdict = result.keys["p1"]
    assert verdict.linearizable == expected, (verdict.witness, ops)
    if any(result.counts[kind] for kind in READ_KINDS):
        assert not expected, (result.counts, ops)
