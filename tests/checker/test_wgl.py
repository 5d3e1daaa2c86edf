"""The general linearizability search (lbdemo.checker.wgl) on small hand-made histories whose
verdicts are known, and against two exhaustive references on random ones: the register brute
force of the zone check's tests (unique writes), and one here for a cas register with values
written over and over."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lbdemo.checker import models
from lbdemo.checker.models import NOT_KNOWN, Model, Operation
from lbdemo.checker.wgl import search
from lbdemo.history import Op
from tests.checker.bruteforce import linearizable
from tests.checker.test_against_bruteforce import histories

INF = math.inf
REG = models.register(None)


def op(
    f: str,
    call: float,
    ret: float,
    *,
    arg: Any = None,
    out: Any = None,
    client: str = "c",
    key: str = "k",
) -> Operation:
    """``ret=INF``: the outcome is unknown."""
    return Operation(0, client, f, key, arg, out, call, ret, f"{f}@{call}")


def w(v: Any, call: float, ret: float, **kw: Any) -> Operation:
    return op("write", call, ret, arg=v, **kw)


def r(v: Any, call: float, ret: float, **kw: Any) -> Operation:
    return op("read", call, ret, out=v, **kw)


def cas(old: Any, new: Any, call: float, ret: float, swapped: bool = True, **kw: Any) -> Operation:
    return op("cas", call, ret, arg=(old, new), out=swapped, **kw)


def verdict(model: Model, *ops: Operation, **budget: Any) -> bool | None:
    numbered = [replace(o, index=i) for i, o in enumerate(ops)]
    return search(numbered, model, **budget).linearizable


def test_the_empty_history_and_a_sequential_one_are_linearizable() -> None:
    assert verdict(REG) is True
    assert verdict(REG, w(1, 0, 1), r(1, 2, 3), w(2, 4, 5), r(2, 6, 7)) is True


def test_a_stale_read_after_a_completed_write_is_not() -> None:
    assert verdict(REG, w(1, 0, 1), w(2, 2, 3), r(1, 4, 5)) is False


def test_a_read_concurrent_with_a_write_may_see_either_value() -> None:
    assert verdict(REG, w(1, 0, 1), w(2, 2, 6), r(1, 3, 4)) is True
    assert verdict(REG, w(1, 0, 1), w(2, 2, 6), r(2, 3, 4)) is True


def test_new_old_inversion_between_two_reads_is_not_linearizable() -> None:
    # The classic: a slow write of 2; one reader sees 2, a later reader sees 1 again.
    ops = (w(1, 0, 1), w(2, 2, 10), r(2, 3, 4, client="a"), r(1, 5, 6, client="b"))
    assert verdict(REG, *ops) is False


def test_a_value_written_twice_can_be_read_from_either_write() -> None:
    # lbdemo's fast check refuses this shape; the search decides it.
    assert verdict(REG, w(1, 0, 1), w(2, 2, 3), w(1, 4, 5), r(1, 6, 7)) is True
    assert verdict(REG, w(1, 0, 1), w(2, 2, 3), r(1, 4, 5), w(1, 6, 7)) is False


def test_equal_times_are_concurrent() -> None:
    # The read began at the instant the write completed: it may still be ordered first.
    assert verdict(REG, w(1, 0, 1), w(2, 1, 2), r(1, 2, 3)) is True


def test_an_unknown_write_may_take_effect_late_or_never() -> None:
    assert verdict(REG, w(1, 0, INF), r(None, 1, 2), r(1, 3, 4)) is True
    assert verdict(REG, w(1, 0, INF), r(None, 5, 6)) is True  # never happened
    assert verdict(REG, r(1, 0, 1), w(1, 2, INF)) is False  # not before it was invoked


def test_a_read_of_nil_is_the_empty_register_unless_its_value_is_not_known() -> None:
    assert verdict(REG, w(1, 0, 1), r(None, 2, 3)) is False  # Porcupine's etcd reading
    assert verdict(REG, w(1, 0, 1), r(NOT_KNOWN, 2, 3)) is True  # Knossos's nil read


def test_two_successful_cas_from_the_same_value_cannot_both_happen() -> None:
    m = models.register(0)
    assert verdict(m, cas(0, 1, 0, 5, client="a"), cas(0, 2, 0, 5, client="b")) is False
    both = (cas(0, 1, 0, 5, client="a"), cas(1, 0, 0, 5, client="b"), cas(0, 2, 0, 5))
    assert verdict(m, *both) is True  # 0 -> 1 -> 0 -> 2


def test_a_cas_that_compared_unequal_needs_another_value() -> None:
    m = models.register(0)
    assert verdict(m, cas(0, 1, 0, 1, swapped=False)) is False
    assert verdict(m, w(3, 0, 1), cas(0, 1, 2, 3, swapped=False), r(3, 4, 5)) is True


def test_an_unknown_cas_applies_only_where_it_matches() -> None:
    m = models.register(0)
    assert verdict(m, cas(0, 1, 0, INF), r(1, 2, 3)) is True
    assert verdict(m, cas(5, 1, 0, INF), r(1, 2, 3)) is False
    assert verdict(m, cas(5, 1, 0, INF), r(0, 2, 3)) is True  # it never happened


def test_kv_appends_and_a_bad_key_refutes_the_whole_history() -> None:
    m = models.kv()
    good = (
        op("append", 0, 1, arg="x", key="a"),
        op("append", 0, 2, arg="y", key="a"),
        op("read", 3, 4, out="yx", key="a"),
    )
    assert verdict(m, *good) is True
    bad_b = (op("write", 0, 1, arg="1", key="b"), op("read", 2, 3, out="", key="b"))
    assert verdict(m, *good, *bad_b) is False


def test_a_mutex_is_held_by_one_client_at_a_time() -> None:
    m = models.mutex()
    a, b = {"client": "a"}, {"client": "b"}
    held = (op("acquire", 0, 1, **a), op("release", 2, 3, **a), op("acquire", 4, 5, **b))
    assert verdict(m, *held) is True
    assert verdict(m, op("acquire", 0, 1, **a), op("acquire", 2, 3, **b)) is False
    assert verdict(m, op("release", 0, 1)) is False


def test_a_transaction_is_one_atomic_step() -> None:
    m = models.multi_register({"x": 0, "y": 0})
    txn = op("txn", 0, 10, arg=(("write", "x", 1), ("write", "y", 1)))
    torn = op("txn", 2, 3, arg=(("read", "x", 1), ("read", "y", 0)), client="b")
    whole = op("txn", 2, 3, arg=(("read", "x", 1), ("read", "y", None)), client="b")
    assert verdict(m, txn, torn) is False
    assert verdict(m, txn, whole) is True


def test_a_search_over_its_budget_answers_unknown_not_a_guess() -> None:
    # Twelve concurrent writes, then a read of a value none wrote: every order must be tried.
    ops = [w(i % 3, 0, 100, client=f"c{i}") for i in range(12)] + [r(7, 101, 102)]
    assert verdict(REG, *ops) is False
    assert verdict(REG, *ops, max_states=50) is None


# --- against exhaustive references ---------------------------------------------------------


def _register_ops(ops: list[Op]) -> list[Operation]:
    """lbdemo's register history as search operations: a value is (write id, price)."""
    out = []
    for o in ops:
        if o.outcome == "fail" or (o.op == "read" and o.outcome != "ok"):
            continue
        value = None if o.write_id is None else (o.write_id, o.price)
        ret = o.complete if o.outcome == "ok" else INF
        arg, output = (value, None) if o.op == "write" else (None, value)
        out.append(Operation(len(out), o.client, o.op, o.key, arg, output, o.invoke, ret, ""))
    return out


@settings(
    max_examples=int(os.environ.get("WGL_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(histories())
def test_the_search_agrees_with_the_register_brute_force(ops: list[Op]) -> None:
    assert search(_register_ops(ops), REG).linearizable == linearizable(ops), ops


@st.composite
def cas_histories(draw: st.DrawFn) -> list[Operation]:
    """1-3 clients, values 0-2 written over and over, cas, unknown outcomes; small times."""
    out: list[Operation] = []
    for c in range(draw(st.integers(1, 3))):
        t = draw(st.integers(0, 3))
        for _ in range(draw(st.integers(1, 3))):
            end = t + draw(st.integers(0, 4))
            f = draw(st.sampled_from(["read", "write", "cas"]))
            ret = INF if f != "read" and draw(st.integers(0, 4)) == 0 else float(end)
            v = draw(st.integers(0, 2))
            arg: Any = None
            output: Any = True
            if f == "read":
                output = v
            elif f == "write":
                arg, output = v, None
            else:
                arg, output = (v, draw(st.integers(0, 2))), draw(st.booleans())
            out.append(Operation(len(out), f"c{c}", f, "k", arg, output, float(t), ret, ""))
            if ret == INF:
                break  # a client whose operation never returned does nothing more
            t = end + draw(st.integers(0, 2))
    return out


def _cas_brute_force(ops: list[Operation]) -> bool:
    """Every order, memoised on (operations left, value): an independent reference."""
    n = len(ops)

    def step(value: int, o: Operation) -> int | None:
        if o.f == "read":
            return value if o.output == value else None
        if o.f == "write":
            return int(o.arg)
        old, new = o.arg
        if o.output is False:
            return value if value != old else None
        return new if value == old else None

    @cache
    def go(left: frozenset[int], value: int) -> bool:
        if all(ops[i].ret == INF for i in left):
            return True
        for i in left:
            if any(ops[j].ret < ops[i].call for j in left if j != i):
                continue  # something left had returned before this one was called
            after = step(value, ops[i])
            if after is not None and go(left - {i}, after):
                return True
        return any(go(left - {i}, value) for i in left if ops[i].ret == INF)

    return go(frozenset(range(n)), 0)


@settings(
    max_examples=int(os.environ.get("WGL_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(cas_histories())
def test_the_search_agrees_with_a_cas_register_brute_force(ops: list[Operation]) -> None:
    assert search(ops, models.register(0)).linearizable == _cas_brute_force(ops), ops
