"""Jepsen and Knossos register histories, in EDN, both ways; and the Jepsen log lines of the etcd
histories Porcupine ships as test data.

A Jepsen history is a sequence of operation maps, ``{:type :invoke, :f :write, :value 3,
:process 0, :time 12345}``, each invocation followed later by its process's completion
(``:ok``, ``:fail``: certainly not applied, ``:info``: outcome unknown). The file is one vector
(or list) of them, or one map after another (Jepsen's ``history.edn``). Register operations are
``:read``, ``:write`` and ``:cas`` (``:value [old new]``); several registers are told apart by
``:key`` or by jepsen.independent's tuples (``:value [key value]``). ``:process`` is the client
(``:nemesis`` operations are left out: they touch no register). Times: ``:time`` in nanoseconds
when every operation has one, otherwise the order of the file (the position is the time).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lbdemo.errors import UsageError
from lbdemo.history import FAIL, OK, READ, UNKNOWN, WRITE, History, Op
from lbdemo.interop.calls import Call, Foreign, show
from lbdemo.interop.edn import EdnError, Keyword, dumps, loads, loads_all

TYPES = {"invoke": None, "ok": OK, "fail": FAIL, "info": UNKNOWN}
FS = {"read": READ, "write": WRITE, "cas": "cas", "get": READ, "put": WRITE}
KV_FS = ("get", "put", "append")
DEFAULT_KEY = "register"  # the key of a history of one register
NS = 1e9


def _name(value: Any) -> str | None:
    return value.name if isinstance(value, Keyword) else None


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, Keyword):
        return key.name
    return dumps(key)


def _split_key(op: dict[Any, Any], f: str) -> tuple[str, Any]:
    """(key, value) of an operation map: ``:key``, jepsen.independent's tuple, or one register."""
    value: Any = op.get(Keyword("value"))
    if Keyword("key") in op:
        return _key_text(op[Keyword("key")]), value
    if f not in (READ, WRITE, "cas"):
        return DEFAULT_KEY, value  # not a register operation: refused later, as it is
    tuple_like = isinstance(value, list) and len(value) == 2
    if tuple_like and (f != "cas" or isinstance(value[1], list)):
        return _key_text(value[0]), value[1]
    return DEFAULT_KEY, value


def calls_from_ops(ops: list[Any], where: str) -> tuple[list[Call], bool]:
    """Pair the invocations and completions of a Jepsen history (maps in file order); and
    whether the times are ``:time`` (else positions in the file)."""
    maps: list[dict[Any, Any]] = []
    for i, op in enumerate(ops, 1):
        if not isinstance(op, dict):
            raise UsageError(f"{where}: operation {i} is not a map but {dumps(op)[:60]}")
        if op.get(Keyword("process")) == Keyword("nemesis"):
            continue
        maps.append(op)
    timed = bool(maps) and all(isinstance(m.get(Keyword("time")), int) for m in maps)
    pending: dict[Any, Call] = {}
    calls: list[Call] = []
    for i, op in enumerate(maps, 1):
        at = f"{where}: operation {i} {dumps(op)[:80]}"
        kind = _name(op.get(Keyword("type")))
        f_name = _name(op.get(Keyword("f")))
        process = op.get(Keyword("process"))
        if kind not in TYPES:
            raise UsageError(f"{at}: :type must be :invoke, :ok, :fail or :info")
        if f_name is None:
            raise UsageError(f"{at}: :f must be a keyword")
        if isinstance(process, bool) or not isinstance(process, int | str | Keyword):
            raise UsageError(f"{at}: :process must be an integer")
        t = op[Keyword("time")] / NS if timed else float(i)
        f = FS.get(f_name, f_name)
        key, value = _split_key(op, f)
        if kind == "invoke":
            if process in pending:
                raise UsageError(
                    f"{at}: process {dumps(process)} invoked an operation before its previous "
                    "one completed"
                )
            # An export's :client names the client; its touching operations (one completed at
            # the instant the next was invoked) have processes of their own, so without times,
            # where they would overlap in the file's order, the process is the client.
            client = op.get(Keyword("client")) if timed else None
            call = Call(
                client=client if isinstance(client, str) else _key_text(process),
                f=f,
                key=key,
                value=value,
                outcome=UNKNOWN,  # until a completion says otherwise
                invoke=t,
                complete=None,
                where=at,
            )
            pending[process] = call
            calls.append(call)
            continue
        if process not in pending:
            raise UsageError(f"{at}: a completion with no invocation before it")
        call = pending.pop(process)
        if call.f != f or call.key != key:
            raise UsageError(
                f"{at}: completes a {call.f} of {show(call.key)}, not a {show(f)} of {show(key)}"
            )
        if t < call.invoke:
            raise UsageError(f"{at}: :time is before its invocation's ({call.where})")
        call.outcome = TYPES[kind] or UNKNOWN
        call.complete = t
        if f in (READ, "txn") and call.outcome == OK:
            call.value = value  # a read's value is known at its completion
        for name in ("price", "replica", "status"):
            v = op.get(Keyword(name))
            if v is not None:
                call.extra[name] = v
    return calls, timed  # still pending: crashed, outcome unknown (complete=None)


def read_edn(path: str | Path) -> History:
    """A Jepsen/Knossos register history in EDN as an lbdemo History (or a one-line refusal)."""
    return edn_calls(path).history()


def edn_calls(path: str | Path) -> Foreign:
    """The operations of a Jepsen/Knossos history in EDN, and the model they are of: Knossos's
    cas-register (read, write, cas), Porcupine's key-value model (get, put, append with
    ``:key``: every key starts as ""), a mutex (acquire, release) or Knossos's multi-register
    (``:txn``)."""
    where = str(path)
    values = loads_all(_text(path), where)
    if len(values) == 1 and isinstance(values[0], list):
        values = values[0]
    calls, timed = calls_from_ops(values, where)
    names = {_name(v.get(Keyword("f"))) for v in values if isinstance(v, dict)}
    if names & set(KV_FS):
        model, initial = "kv", ""
    elif "txn" in names:
        model, initial = "multi-register", None
    elif names & {"acquire", "release"}:
        model, initial = "mutex", None
    else:
        model, initial = "cas-register", None
    return Foreign(
        calls,
        where,
        model=model,
        initial=initial,
        what="Jepsen history",
        source="jepsen-edn",
        positions=not timed,
    )


_LOG_LINE = re.compile(r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(\w+)\s+:(\w+)\s+(.*?)\s*$")


def read_log(path: str | Path) -> History:
    """A Jepsen log as Porcupine's etcd test data has it, as an lbdemo History."""
    return log_calls(path).history()


def log_calls(path: str | Path) -> Foreign:
    """A Jepsen log as Porcupine's etcd test data has it: ``INFO  jepsen.util - P :type :f V``
    per line (tabs or spaces), one register, no times (the line order is the time).

    Read as Porcupine's etcd test reads it: a ``:fail :cas`` ran and found another value (etcd
    answered "compare failed"), and a read of ``nil`` read the empty register."""
    where = str(path)
    ops: list[dict[Any, Any]] = []
    for n, line in enumerate(_text(path).splitlines(), 1):
        if not line.strip():
            continue
        m = _LOG_LINE.match(line)
        if not m:
            raise UsageError(f"{where}:{n}: not a Jepsen log line: {line[:60]!r}")
        process, kind, f, raw = m.groups()
        try:
            value = loads(raw, f"{where}:{n}")
        except EdnError as exc:
            raise UsageError(str(exc)) from None
        if kind in ("fail", "info") and value == Keyword("timed-out"):
            value = None  # the log names the reason, not the value: the invocation has it
        ops.append(
            {
                Keyword("process"): int(process),
                Keyword("type"): Keyword(kind),
                Keyword("f"): Keyword(f),
                Keyword("value"): value,
            }
        )
    # A read that failed (timed out) observed nothing: Porcupine's parser says the same.
    calls, _ = calls_from_ops(ops, where)
    for call in calls:
        if call.f == "cas" and call.outcome == FAIL:
            call.outcome = OK
            call.extra["swapped"] = False
    return Foreign(
        calls,
        where,
        model="cas-register",
        initial=None,
        what="Jepsen log",
        source="jepsen-log",
        positions=True,
        nil_read_unknown=False,
    )


def _text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None


# ---------------------------------------------------------------------------------------------
# Writing


def write_edn(history: History) -> str:
    """``history`` as a Jepsen history: one operation map per line inside one vector.

    Registers are told apart by jepsen.independent's ``[key value]`` tuples; a write's value is
    its write id (unique, so Knossos's register model checks it as lbdemo does); ``:time`` is in
    nanoseconds. Events are in time order, invocations before completions at the same instant:
    operations that share an instant are concurrent (lbdemo's rule), and stay so for a checker
    that orders by position. Each client is an integer process (its name stays in ``:client``),
    but a client whose next operation is invoked at the very instant its previous one completed
    gets a fresh process for it, as Jepsen gives one after a crash: a process has one operation
    at a time in the file's order, and the two stay concurrent.
    """
    events: list[tuple[int, int, int, Op]] = []
    for i, op in enumerate(history.ops):
        events.append((round(op.invoke * NS), 0, i, op))
        events.append((round(op.complete * NS), 1, i, op))
    events.sort(key=lambda e: e[:3])
    current: dict[str, int] = {}  # client -> its process now
    pending: set[int] = set()  # processes with an invocation not yet completed in the file
    process_of: dict[int, int] = {}  # op index -> process
    lines = []
    for t, completes, i, op in events:
        if not completes:
            process = current.get(op.client)
            if process is None or process in pending:
                process = current[op.client] = len(process_of) and max(process_of.values()) + 1
            process_of[i] = process
            pending.add(process)
        else:
            process = process_of[i]
            pending.discard(process)
        lines.append(dumps(_event(op, process, t, completes=bool(completes))))
    return "[" + "\n ".join(lines) + "]\n"


def _event(op: Op, process: int, t: int, *, completes: bool) -> dict[Keyword, Any]:
    """One line of an exported history: ``op``'s invocation, or its completion."""
    value = op.write_id if op.op == WRITE else None
    if not completes:
        kind = "invoke"
    else:
        kind = {OK: "ok", FAIL: "fail", UNKNOWN: "info"}[op.outcome]
        if op.op == READ and op.outcome == OK:
            value = op.write_id
    event: dict[Keyword, Any] = {
        Keyword("type"): Keyword(kind),
        Keyword("process"): process,
        Keyword("f"): Keyword(op.op),
        Keyword("client"): op.client,
        Keyword("value"): [op.key, value],
        Keyword("time"): t,
    }
    names = ("price", "replica", "status") if completes else ("price",) * (op.op == WRITE)
    for name in names:
        v = getattr(op, name)
        if v is not None:
            event[Keyword(name)] = v
    return event
