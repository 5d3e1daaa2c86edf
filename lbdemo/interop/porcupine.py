"""Porcupine's operations as JSON, both ways, for its register and key-value models.

Porcupine (a Go library) checks a ``[]porcupine.Operation``: ``ClientId``, ``Input``, ``Call``,
``Output``, ``Return``, with inputs and outputs a model defines. It has no file format of its
own, so this one is Go's ``encoding/json`` of those operations (the field names as Go writes
them), in an object that names the model:

``{"model": "register", "operations": [...]}``: Porcupine's README register, initially ``0``:
``Input`` ``{"Op": "put", "Value": 100}`` or ``{"Op": "get"}``, ``Output`` the value a get
returned (a put's is ignored).

``{"model": "kv", "operations": [...]}``: the key-value model of Porcupine's tests, every key
initially ``""``: ``Input`` ``{"Op": "get"|"put"|"append", "Key": "x", "Value": "..."}``,
``Output`` ``{"Value": "..."}`` (a get's result).

``Call`` and ``Return`` are integers, nanoseconds. An operation whose outcome is unknown (it may
or may not have taken effect) has ``"Unknown": true`` in its ``Output`` (a register's: the
output ``{"Unknown": true}``), as Porcupine's own etcd test marks timed-out operations, and for
Porcupine to check it soundly its ``Return`` must lie after every other operation: the writer
puts it there. Operations that certainly did not happen are not Porcupine operations; the writer
keeps them apart, in ``"failed"`` (Porcupine ignores it; lbdemo reads it back), and each
operation's ``"Meta"`` carries what Porcupine does not model (client name, replica, status,
price, the time an unknown operation gave up): Go ignores fields its struct does not have.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lbdemo.errors import UsageError
from lbdemo.history import FAIL, OK, READ, UNKNOWN, WRITE, History
from lbdemo.interop.calls import Call, Foreign

MODELS = {"register": 0, "kv": ""}  # model -> every key's initial value
OPS = {"get": READ, "put": WRITE}
REGISTER_KEY = "register"
NS = 1e9


def _int(value: Any, what: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise UsageError(
            f"{where}: {what} must be an integer from 0 to 2**63-1 (nanoseconds), "
            f"got {str(value)[:30]}"
        )
    return value


def _call(op: Any, model: str, where: str, outcome: str) -> Call:
    if not isinstance(op, dict):
        raise UsageError(f"{where}: an operation must be an object")
    call_t = _int(op.get("Call"), "Call", where)
    return_t = _int(op.get("Return"), "Return", where)
    inp: Any = op.get("Input")
    out: Any = op.get("Output")
    if not isinstance(inp, dict):
        raise UsageError(f"{where}: Input must be an object with Op")
    name = inp.get("Op")
    f = OPS.get(name, name) if isinstance(name, str) else None
    if f is None:
        raise UsageError(f"{where}: Input.Op must be a string (get, put, append)")
    found = op.get("Meta")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    key: Any
    if model == "kv":
        key = inp.get("Key")
        if not isinstance(key, str):
            raise UsageError(f"{where}: Input.Key must be a string in the kv model")
    else:
        key = REGISTER_KEY
    unknown = isinstance(out, dict) and out.get("Unknown") is True
    if f in (WRITE, "append"):  # the argument, whatever the outcome
        value = inp.get("Value")
    elif unknown or outcome != OK:
        value = None
    elif model == "kv":
        value = out.get("Value") if isinstance(out, dict) else None
    else:
        value = out
    if f == READ and outcome == OK and not unknown:
        ok_type = str if model == "kv" else int
        if isinstance(value, bool) or not isinstance(value, ok_type):
            raise UsageError(f"{where}: a get's Output must hold a {ok_type.__name__}")
    if f in (WRITE, "append") and (isinstance(value, bool) or not isinstance(value, str | int)):
        raise UsageError(f"{where}: a put's Input.Value must be a string or an integer")
    if unknown and isinstance(meta.get("gave_up"), int):
        return_t = meta["gave_up"]  # when the client gave up (lbdemo's complete)
    if return_t < call_t:
        raise UsageError(f"{where}: Return is before Call")
    client = meta.get("client")
    extra = {k: meta[k] for k in ("price", "replica", "status") if meta.get(k) is not None}
    return Call(
        client=client if isinstance(client, str) else str(op.get("ClientId")),
        f=f,
        key=key,
        value=value,
        outcome=UNKNOWN if unknown else outcome,
        invoke=call_t / NS,
        complete=return_t / NS,
        where=f"{where} {json.dumps(op)[:80]}",
        extra=extra,
    )


def read_json(path: str | Path) -> History:
    """A Porcupine JSON history (register or kv model) as an lbdemo History."""
    return json_calls(path).history()


def json_calls(path: str | Path) -> Foreign:
    """The operations of a Porcupine JSON history and its model (register or kv)."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{where}: not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("model") not in MODELS:
        raise UsageError(f'{where}: expected {{"model": "register" or "kv", "operations": [...]}}')
    model = data["model"]
    found: list[tuple[Call, int]] = []
    for field, outcome in (("operations", OK), ("failed", FAIL)):
        ops = data.get(field, [])
        if not isinstance(ops, list):
            raise UsageError(f"{where}: {field} must be a list")
        for i, op in enumerate(ops):
            call = _call(op, model, f"{where}: {field}[{i}]", outcome)
            meta = op.get("Meta")
            seq = meta.get("seq") if isinstance(meta, dict) else None
            found.append((call, seq if isinstance(seq, int) and not isinstance(seq, bool) else -1))
    # One order for both lists, by call time. At a shared instant, a client's earlier operation
    # is the one that completed then; an export's Meta.seq keeps the history's own order, the
    # order its anomalies are listed in.
    found.sort(key=lambda cs: (cs[0].invoke, cs[1], cs[0].complete or 0.0))
    calls = [call for call, _ in found]
    return Foreign(
        calls,
        where,
        model=model,
        initial=MODELS[model],
        what="Porcupine history",
        source="porcupine-json",
    )


def write_json(history: History) -> str:
    """``history`` as Porcupine JSON in the kv model (lbdemo's store is a key-value store).

    A write's value is its write id (unique); a read that found nothing returns ``""``, the kv
    model's initial value. Unknown writes return after everything else (so Porcupine may order
    them anywhere after their call); failed operations go to ``"failed"``; reads whose outcome
    is unknown observed nothing and go there too, marked.
    """
    clients: dict[str, int] = {}
    end = max((round(op.complete * NS) for op in history.ops), default=0) + 1
    operations: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for seq, op in enumerate(history.ops):
        client_id = clients.setdefault(op.client, len(clients))
        meta: dict[str, Any] = {"client": op.client, "seq": seq}
        for name in ("price", "replica", "status"):
            if getattr(op, name) is not None:
                meta[name] = getattr(op, name)
        call_t, return_t = round(op.invoke * NS), round(op.complete * NS)
        if op.op == WRITE:
            inp = {"Op": "put", "Key": op.key, "Value": op.write_id}
            output: dict[str, Any] = {"Value": ""}
        else:
            inp = {"Op": "get", "Key": op.key}
            output = {"Value": op.write_id if op.outcome == OK and op.write_id else ""}
        if op.outcome == UNKNOWN:
            output = {"Value": "", "Unknown": True}
            meta["gave_up"] = return_t
            return_t = end
        entry = {
            "ClientId": client_id,
            "Input": inp,
            "Call": call_t,
            "Output": output,
            "Return": return_t,
            "Meta": meta,
        }
        (
            failed
            if op.outcome == FAIL or (op.op == READ and op.outcome == UNKNOWN)
            else operations
        ).append(entry)
    doc = {"model": "kv", "operations": operations, "failed": failed}
    return json.dumps(doc, separators=(",", ":")).replace('},{"ClientId"', '},\n{"ClientId"') + "\n"
