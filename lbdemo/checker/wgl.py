"""The general linearizability search: Wing and Gong's algorithm with Lowe's memoisation.

For the histories the zone check (:mod:`.linearizability`) cannot decide: values written more
than once, ``cas``, ``append``, mutexes, transactions (any :class:`~.models.Model`). This is the
search Knossos (``knossos.wgl``) and Porcupine use:

- The history is a doubly linked list of call and return entries in time order (at equal times
  calls first: operations that share an instant are concurrent, lbdemo's rule).
- Walk the list from its head. At a call whose operation the model accepts from the current
  state, *linearize* it: push (entry, state) on a stack, take the new state, *lift* the call and
  its return out of the list, and start again from the head. At a call the model refuses, go on
  to the next entry. At a return, the operation that returns there was not linearized before
  it: a dead end, so pop the stack, *unlift* that call and try the entry after it.
- Lowe's memoisation: the set of linearized operations (a bitset) with the state it led to is
  cached; reaching a (set, state) pair seen before cannot end differently, so it is skipped.
  This is what makes the search practical: without it the search is exponential in the number
  of concurrent operations far more often.
- An operation whose outcome is unknown may have taken effect at any time after its call, or
  never: its return is at +inf, after every known return. Reaching such a return means every
  known operation is linearized: linearizable (Knossos's treatment of ``:info``).
- P-compositionality (Herlihy and Wing): a history of independent keys is linearizable iff
  each key's sub-history is, so a model ``by_key`` is searched key by key.

The search is exponential in the worst case. It stops at a budget of cached states or of time
and answers *unknown* then: it never guesses.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lbdemo.checker.models import (
    ILLEGAL,
    MODELS,
    CallLike,
    Model,
    Operation,
    describe,
    operations,
)
from lbdemo.errors import UsageError

INF = math.inf
# Cached (set, state) pairs per key: a search that spent them all on a kv key of 230 operations
# (Porcupine's c50-bad.txt) peaked at 273 MB of resident memory, the interpreter included.
MAX_STATES = 1_000_000
MAX_SECONDS = 60.0
_CLOCK_EVERY = 4096  # look at the clock once per this many steps


@dataclass(frozen=True, slots=True)
class SearchVerdict:
    """``linearizable``: True, False, or None when the search exceeded its budget."""

    linearizable: bool | None
    witness: str | None  # why not, or why unknown, in one sentence
    operations: int  # operations searched (failed ones are not operations)
    keys: int
    states: int  # (linearized set, state) pairs cached, over every key
    seconds: float

    @property
    def verdict(self) -> str:
        if self.linearizable is None:
            return "unknown"
        return "consistent" if self.linearizable else "inconsistent"


class _Budget:
    def __init__(self, states: int, deadline: float) -> None:
        self.states_left = states
        self.deadline = deadline


FIRST_ROUND = 10_000  # states per key in the first round; ten times more each round after


def search(
    ops: Sequence[Operation],
    model: Model,
    *,
    max_states: int = MAX_STATES,
    max_seconds: float = MAX_SECONDS,
) -> SearchVerdict:
    """Is there a total order of ``ops`` that respects real time and ``model``?

    Key by key for a model ``by_key``, in rounds: each key still undecided gets a budget of
    states ten times the last round's, so that one key whose search explodes does not hide
    another that refutes the history in a few thousand states (Porcupine searches its
    partitions in parallel and stops at the first refuted one, to the same effect).
    ``max_states`` bounds the states of one key's search, ``max_seconds`` the whole search.
    """
    start = time.monotonic()
    deadline = start + max_seconds
    groups: dict[str, list[Operation]] = {}
    if model.by_key:
        for op in ops:
            groups.setdefault(op.key, []).append(op)
    else:
        groups[""] = list(ops)
    states = 0
    pending = sorted(groups)
    # One key has nothing to race against: its whole budget at once.
    per_key = min(FIRST_ROUND, max_states) if len(pending) > 1 else max_states
    witness: str | None = None
    while pending:
        undecided = []
        for key in pending:
            answer, cached, why = _search_one(groups[key], model, _Budget(per_key, deadline))
            states += cached
            if answer is False:
                elapsed = time.monotonic() - start
                return SearchVerdict(False, why, len(ops), len(groups), states, elapsed)
            if answer is None:
                undecided.append(key)
                witness = why
                if time.monotonic() > deadline:
                    break
        if undecided and (per_key >= max_states or time.monotonic() > deadline):
            return SearchVerdict(
                None, witness, len(ops), len(groups), states, time.monotonic() - start
            )
        pending = undecided
        per_key = min(per_key * 10, max_states)
    return SearchVerdict(True, None, len(ops), len(groups), states, time.monotonic() - start)


class ForeignLike(Protocol):
    """What :func:`decide` reads of a foreign history (``lbdemo.interop.calls.Foreign``)."""

    @property
    def calls(self) -> Sequence[CallLike]: ...
    @property
    def path(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def initial(self) -> Any: ...
    @property
    def nil_read_unknown(self) -> bool: ...


def decide(
    foreign: ForeignLike, *, max_states: int = MAX_STATES, max_seconds: float = MAX_SECONDS
) -> SearchVerdict:
    """The search's verdict on a foreign history, in the model it names."""
    initial = foreign.initial
    if foreign.model == "kv" and not isinstance(initial, str):
        raise UsageError(f"the initial value of a kv history is a string, not {initial!r}")
    if foreign.model == "multi-register" and not isinstance(initial, dict | None):
        raise UsageError("the initial value of a multi-register history is a map, e.g. {:x 0}")
    # A mutex starts free, whatever the initial value.
    model = MODELS[foreign.model]() if foreign.model == "mutex" else MODELS[foreign.model](initial)
    try:
        ops = operations(foreign.calls, nil_read_unknown=foreign.nil_read_unknown)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for op in ops:
        if op.f not in model.steps:
            raise UsageError(
                f"{op.where}: {op.f} is not an operation of the {model.name} model "
                f"({', '.join(model.steps)}); lbdemo cannot check {foreign.path}"
            )
        if model.name == "kv" and op.f != "read" and not isinstance(op.arg, str):
            raise UsageError(f"{op.where}: the kv model's {op.f} takes a string")
    return search(ops, model, max_states=max_states, max_seconds=max_seconds)


def _search_one(
    ops: list[Operation], model: Model, budget: _Budget
) -> tuple[bool | None, int, str | None]:
    """One key's search: (linearizable or None, states cached, witness)."""
    n = len(ops)
    if n == 0:
        return True, 0, None
    # Entries in time order; at equal times calls before returns (concurrent).
    entries = sorted(
        [(op.call, 0, i) for i, op in enumerate(ops)] + [(op.ret, 1, i) for i, op in enumerate(ops)]
    )
    # Node 0 is the head; node k + 1 is entries[k]. nxt/prv: the list; -1: none.
    size = 2 * n + 1
    nxt = list(range(1, size + 1))
    nxt[-1] = -1
    prv = list(range(-1, size - 1))
    op_of = [-1] * size
    is_call = [False] * size
    match = [0] * size  # a call's return node
    call_node = [0] * n
    for node, (_, kind, i) in enumerate(entries, 1):
        op_of[node] = i
        if kind == 0:
            is_call[node] = True
            call_node[i] = node
        else:
            match[call_node[i]] = node
    required = [op.required for op in ops]
    steps = model.steps

    state = model.init
    linearized = 0  # bit i: ops[i] is linearized
    cache: set[tuple[int, object]] = set()
    stack: list[tuple[int, object]] = []
    deepest, blocked = -1, 0  # the longest partial order found and the return that ended it
    ticks = 0
    entry = nxt[0]
    while entry != -1:
        ticks += 1
        if ticks % _CLOCK_EVERY == 0 and time.monotonic() > budget.deadline:
            return None, len(cache), _over_budget(len(cache), "time", n)
        i = op_of[entry]
        if is_call[entry]:
            op = ops[i]
            new = steps[op.f](state, op)
            if new is not ILLEGAL:
                after = linearized | (1 << i)
                config = (after, new)
                if config not in cache:
                    cache.add(config)
                    budget.states_left -= 1
                    if budget.states_left < 0:
                        return None, len(cache), _over_budget(len(cache), "states", n)
                    stack.append((entry, state))
                    state, linearized = new, after
                    # lift: take the call and its return out of the list
                    p, q = prv[entry], nxt[entry]
                    nxt[p] = q
                    prv[q] = p
                    r = match[entry]
                    p, q = prv[r], nxt[r]
                    nxt[p] = q
                    if q != -1:
                        prv[q] = p
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
            continue
        if not required[i]:
            # Every known operation is linearized; the rest may never have happened.
            return True, len(cache), None
        if len(stack) > deepest:
            deepest, blocked = len(stack), i
        if not stack:
            break
        entry, state = stack.pop()
        linearized &= ~(1 << op_of[entry])
        # unlift: put the return back, then the call
        r = match[entry]
        nxt[prv[r]] = r
        if nxt[r] != -1:
            prv[nxt[r]] = r
        nxt[prv[entry]] = entry
        prv[nxt[entry]] = entry
        entry = nxt[entry]
    else:
        return True, len(cache), None
    op = ops[blocked]
    return False, len(cache), _refuted(op, model, deepest, n)


def _refuted(op: Operation, model: Model, deepest: int, n: int) -> str:
    key = f" on key {op.key}" if model.by_key else ""
    return (
        f"no order of the {n} operations{key} fits the {model.name} model: every order tried "
        f"(the longest placed {deepest}) leaves no point for {describe(op)} "
        f"before it returned ({op.where})"
    )


def _over_budget(states: int, what: str, n: int) -> str:
    spent = f"{states:,} states" if what == "states" else f"out of time after {states:,} states"
    return f"search budget exceeded ({spent} on a key of {n} operations)"
