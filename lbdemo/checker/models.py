"""Sequential specifications for the general linearizability search (:mod:`.wgl`).

A model is a single-threaded object: an initial state and a ``step`` that applies one
operation to a state and returns the next state, or :data:`ILLEGAL` when the operation could not
have answered what it did from that state. The models, and their rules, are those of Knossos
(``knossos.model``) and of Porcupine's tests, so that a history gets the verdict those tools
publish for it:

- ``register``/``cas-register``: ``read`` legal iff it returned the state (a read whose value is
  not known, Knossos's ``nil`` read, is legal from any state); ``write v`` sets ``v``;
  ``cas [old new]`` that swapped is legal iff the state is ``old`` and sets ``new``; a ``cas``
  that answered "compare failed" (Porcupine's etcd model: it ran and found another value) is
  legal iff the state is not ``old`` and changes nothing.
- ``kv`` (Porcupine's key-value model, one key's value; the search splits the history by key):
  ``get`` legal iff it returned the state, ``put v`` sets ``v``, ``append v`` appends ``v``.
- ``mutex`` (Knossos): ``acquire`` legal iff free, ``release`` legal iff held.
- ``multi-register`` (Knossos): a ``txn`` of ``[f k v]`` steps, reads (``nil``: legal) and
  writes of several registers, applied in one atomic step.

States are hashable (the search memoises on them). Values are compared as Clojure compares
them: ``1``, ``1.0`` and ``true`` are three different values (Python's ``==`` says otherwise,
so :func:`canon` tags floats and booleans).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

ILLEGAL: Any = object()  # step's answer when the operation cannot apply to the state
NOT_KNOWN: Any = object()  # a read's output when the value it returned is not known
INF = math.inf

READ, WRITE, CAS, APPEND, ACQUIRE, RELEASE, TXN = (
    "read",
    "write",
    "cas",
    "append",
    "acquire",
    "release",
    "txn",
)


def canon(value: Any) -> Hashable:
    """``value`` as a hashable value whose ``==`` is Clojure's ``=`` on EDN data."""
    if isinstance(value, bool):
        return ("#bool", value)
    if isinstance(value, float):
        return ("#float", value)
    if isinstance(value, list | tuple):
        return tuple(canon(v) for v in value)
    if isinstance(value, dict):
        return frozenset((canon(k), canon(v)) for k, v in value.items())
    return value


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation for the search: what it asked, what it answered, when.

    ``arg``: a write's, put's or append's value; a cas's ``(old, new)``; a txn's steps
    ``((f, k, v), ...)``; None otherwise. ``output``: a read's value (:data:`NOT_KNOWN`: not
    known), a cas's ``True`` (swapped) or ``False`` (compare failed); None otherwise. ``ret`` is
    +inf when the outcome is unknown: the operation may have taken effect at any time after
    ``call``, or never, so the search may leave it out.
    """

    index: int
    client: str
    f: str
    key: str
    arg: Any
    output: Any
    call: float
    ret: float
    where: str = field(compare=False)

    @property
    def required(self) -> bool:
        return self.ret != INF


def describe(op: Operation) -> str:
    """``op`` in a few words: ``read -> 3``, ``cas 1 -> 2 (compare failed)``..."""
    if op.f == READ:
        got = "?" if op.output is NOT_KNOWN else _show(op.output)
        text = f"read -> {got}"
    elif op.f == CAS:
        old, new = op.arg
        text = f"cas {_show(old)} -> {_show(new)}" + (" (compare failed)" * (op.output is False))
    elif op.f == TXN:
        text = "txn " + " ".join(f"[{f} {_show(k)} {_show(v)}]" for f, k, v in op.arg)
    elif op.arg is not None:
        text = f"{op.f} {_show(op.arg)}"
    else:
        text = op.f
    return f"{text} by {op.client}" + ("" if op.required else " (outcome unknown)")


def _show(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] in ("#bool", "#float"):
        value = value[1]
    if value is None:
        return "nil"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


Step = Callable[[Any, Operation], Any]


@dataclass(frozen=True)
class Model:
    """A sequential specification: a name, an initial state, a step per operation name."""

    name: str
    init: Hashable
    steps: Mapping[str, Step]
    by_key: bool = False  # each key is its own object (P-compositionality): search key by key

    def step(self, state: Any, op: Operation) -> Any:
        return self.steps[op.f](state, op)


def _read(state: Any, op: Operation) -> Any:
    return state if op.output is NOT_KNOWN or op.output == state else ILLEGAL


def _write(state: Any, op: Operation) -> Any:
    return op.arg


def _cas(state: Any, op: Operation) -> Any:
    old, new = op.arg
    if op.output is False:  # it ran and found another value
        return state if state != old else ILLEGAL
    return new if state == old else ILLEGAL


def _append(state: Any, op: Operation) -> Any:
    return state + op.arg


def _acquire(state: Any, op: Operation) -> Any:
    return ILLEGAL if state else True


def _release(state: Any, op: Operation) -> Any:
    return False if state else ILLEGAL


def _txn(state: Any, op: Operation) -> Any:
    values = dict(state)
    for f, k, v in op.arg:
        if f == READ:
            if v is not None and values.get(k) != v:
                return ILLEGAL
        else:
            values[k] = v
    return frozenset(values.items())


def register(initial: Any = None, *, cas: bool = True) -> Model:
    steps: dict[str, Step] = {READ: _read, WRITE: _write}
    if cas:
        steps[CAS] = _cas
    return Model("cas-register" if cas else "register", canon(initial), steps, by_key=True)


def kv(initial: str = "") -> Model:
    return Model("kv", initial, {READ: _read, WRITE: _write, APPEND: _append}, by_key=True)


def mutex() -> Model:
    return Model("mutex", False, {ACQUIRE: _acquire, RELEASE: _release})


def multi_register(initial: Mapping[Any, Any] | None = None) -> Model:
    state = frozenset((canon(k), canon(v)) for k, v in (initial or {}).items())
    return Model("multi-register", state, {TXN: _txn})


MODELS: dict[str, Callable[..., Model]] = {
    "register": lambda initial=None: register(initial, cas=False),
    "cas-register": register,
    "kv": kv,
    "mutex": mutex,
    "multi-register": multi_register,
}


class CallLike(Protocol):
    """What :func:`operations` reads of a foreign operation (``lbdemo.interop.calls.Call``)."""

    client: str
    f: str
    key: str
    value: Any
    outcome: str
    invoke: float
    complete: float | None
    where: str
    extra: dict[str, Any]


def operations(calls: Iterable[CallLike], *, nil_read_unknown: bool) -> list[Operation]:
    """The search's operations: a ``fail`` did not happen (left out, as Knossos and Porcupine
    leave it; a cas whose ``extra["swapped"]`` is False is an ``ok`` that compared unequal);
    an unknown outcome returns at +inf; a read's ``None`` is :data:`NOT_KNOWN` when
    ``nil_read_unknown`` (Knossos) and the value ``nil`` otherwise (Porcupine's etcd model)."""
    out: list[Operation] = []
    for c in calls:
        if c.outcome == "fail":
            continue
        known = c.outcome == "ok"
        arg: Any = None
        output: Any = None
        if c.f == READ:
            if not known or (c.value is None and nil_read_unknown):
                output = NOT_KNOWN
            else:
                output = canon(c.value)
        elif c.f == CAS:
            if not isinstance(c.value, list | tuple) or len(c.value) != 2:
                raise ValueError(f"{c.where}: a cas's value must be [old new]")
            arg = (canon(c.value[0]), canon(c.value[1]))
            output = c.extra.get("swapped", True)
        elif c.f == TXN:
            arg = tuple(_txn_steps(c.value, c.where))
        elif c.f in (WRITE, APPEND):
            arg = canon(c.value)
        ret = c.complete if known and c.complete is not None else INF
        out.append(Operation(len(out), c.client, c.f, c.key, arg, output, c.invoke, ret, c.where))
    return out


def _txn_steps(value: Any, where: str) -> Iterable[tuple[str, Hashable, Hashable]]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where}: a txn's value must be a vector of [f k v] steps")
    for step in value:
        if not isinstance(step, list | tuple) or len(step) != 3:
            raise ValueError(f"{where}: a txn's step must be [f k v]")
        f, k, v = step
        name = getattr(f, "name", f)
        if name not in (READ, WRITE):
            raise ValueError(f"{where}: a txn's step must be :read or :write, not {name}")
        yield name, canon(k), None if v is None else canon(v)
