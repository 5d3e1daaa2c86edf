"""The operation history: one JSON Lines file per load-generating process, read and written here.

The format is described in ``docs/history-format.md``. This module is plain standard library
(no asyncio, no Locust) so that a locustfile can import :class:`HistoryWriter` cheaply and the
checker can load a million operations in a few seconds: one ``json.loads`` per line plus a handful
of type checks, nothing more per operation.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from sys import intern
from types import TracebackType
from typing import IO, Any, NamedTuple

from lbdemo.errors import UsageError

FORMAT = "lbdemo-history/1"
OUTCOMES = frozenset({"ok", "fail", "unknown"})
OPS = frozenset({"read", "write"})


class Op(NamedTuple):
    """One recorded operation. A NamedTuple: cheap to build a million of, immutable, sortable."""

    client: str
    op: str  # "read" or "write"
    key: str
    write_id: str | None  # write: the id sent; read: the id returned, None for "not found"
    price: int | float | None
    invoke: float  # monotonic seconds
    complete: float
    status: int | None
    outcome: str  # "ok", "fail" or "unknown"
    replica: str | None

    @property
    def is_read(self) -> bool:
        return self.op == "read"

    @property
    def is_write(self) -> bool:
        return self.op == "write"


_INVOKE = itemgetter(5)


@dataclass(frozen=True, slots=True)
class HistoryHeader:
    """The first line of a history file: clock anchors that turn monotonic times into wall time."""

    wall_anchor: float
    mono_anchor: float
    pid: int | None = None
    host: str | None = None
    format: str = FORMAT
    path: str | None = None  # the file it came from, when read

    def wall_time(self, t: float) -> float:
        """The wall-clock time (``time.time()`` scale) of monotonic time ``t``."""
        return self.wall_anchor + (t - self.mono_anchor)


@dataclass(slots=True)
class History:
    """Every operation of a run (merged over files), sorted by invocation time."""

    headers: list[HistoryHeader]
    ops: list[Op] = field(default_factory=list)

    @property
    def t0(self) -> float:
        """The invocation time of the first operation: times in explanations are relative to it."""
        return self.ops[0].invoke if self.ops else 0.0

    @property
    def span(self) -> float:
        """Seconds from the first invocation to the last completion."""
        if not self.ops:
            return 0.0
        return max(op.complete for op in self.ops) - self.ops[0].invoke


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building or scanning a million small objects.

    Tuples and dicts of a history contain no cycles, but every allocation burst triggers
    full collections that rescan all of them: a quarter of the load time, for nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------------------------------------
# Reading


def _is_num(x: object) -> bool:
    return (type(x) is float or type(x) is int) and x == x  # rejects bool and NaN


def _op_from_dict(d: dict[str, Any]) -> Op:
    """Validate one decoded op line; raises ValueError with a message naming the bad field."""
    try:
        client = d["client"]
        kind = d["op"]
        key = d["key"]
        write_id = d["write_id"]
        price = d["price"]
        invoke = d["invoke"]
        complete = d["complete"]
        status = d["status"]
        outcome = d["outcome"]
        replica = d["replica"]
    except KeyError as exc:
        raise ValueError(f"missing field {exc.args[0]!r}") from None
    if type(client) is not str or not client:
        raise ValueError("'client' must be a non-empty string")
    if kind not in OPS:
        raise ValueError(f"'op' must be 'read' or 'write', not {kind!r}")
    if type(key) is not str or not key:
        raise ValueError("'key' must be a non-empty string")
    if write_id is not None:
        if type(write_id) is not str:
            raise ValueError("'write_id' must be a string or null")
        write_id = intern(write_id)
    if kind == "write" and not write_id:
        raise ValueError("a write needs a non-empty 'write_id'")
    if price is not None and not _is_num(price):
        raise ValueError("'price' must be a number or null")
    if not _is_num(invoke) or not _is_num(complete):
        raise ValueError("'invoke' and 'complete' must be numbers")
    if complete < invoke:
        raise ValueError(f"'complete' ({complete}) is before 'invoke' ({invoke})")
    if status is not None and type(status) is not int:
        raise ValueError("'status' must be an integer or null")
    if outcome not in OUTCOMES:
        raise ValueError(f"'outcome' must be 'ok', 'fail' or 'unknown', not {outcome!r}")
    if replica is not None:
        if type(replica) is not str:
            raise ValueError("'replica' must be a string or null")
        replica = intern(replica)
    # Interned strings: a million ops share a few hundred client, key and replica names, and
    # the checker's dictionary lookups and comparisons then succeed on identity.
    return Op(intern(client), intern(kind), intern(key), write_id, price, float(invoke),
              float(complete), status, intern(outcome), replica)


def _header_from_dict(d: dict[str, Any], path: str) -> HistoryHeader:
    if d.get("format") != FORMAT:
        raise ValueError(f"unsupported format {d.get('format')!r} (expected {FORMAT!r})")
    wall, mono = d.get("wall_anchor"), d.get("mono_anchor")
    if not isinstance(wall, int | float) or not isinstance(mono, int | float):
        raise ValueError("header needs numeric 'wall_anchor' and 'mono_anchor'")
    pid = d.get("pid")
    host = d.get("host")
    return HistoryHeader(
        wall_anchor=float(wall),
        mono_anchor=float(mono),
        pid=pid if type(pid) is int else None,
        host=host if isinstance(host, str) else None,
        path=path,
    )


def _read_one(path: Path, ops: list[Op], seen: dict[str, str]) -> HistoryHeader:
    """Append the ops of one file to ``ops``; ``seen`` maps write ids to where they appeared."""
    name = str(path)
    try:
        fh = path.open("r", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read history {name}: {exc.strerror or exc}") from None
    header: HistoryHeader | None = None
    loads = json.loads
    append = ops.append
    lineno = 0
    try:
        with fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    d = loads(line)
                    if type(d) is not dict:
                        raise ValueError("not a JSON object")
                    kind = d.get("type")
                    if kind == "op":
                        if header is None:
                            raise ValueError("operation before the header line")
                        op = _op_from_dict(d)
                        if op.op == "write":
                            wid = op.write_id
                            assert wid is not None
                            if wid in seen:
                                raise ValueError(
                                    f"write_id {wid!r} was already used at {seen[wid]}"
                                )
                            seen[wid] = f"{name}:{lineno}"
                        append(op)
                    elif kind == "header":
                        if header is not None:
                            raise ValueError("a second header line")
                        header = _header_from_dict(d, name)
                    else:
                        raise ValueError(f"unknown line type {kind!r}")
                except ValueError as exc:  # json.JSONDecodeError is a ValueError
                    msg = str(exc).splitlines()[0]
                    raise UsageError(f"{name}:{lineno}: malformed history line: {msg}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{name}:{lineno + 1}: history is not UTF-8 text") from None
    if header is None:
        raise UsageError(f"{name}: not an lbdemo history (no header line)")
    return header


def read_history(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> History:
    """Read and merge history files (one per load-generating process) into one History.

    Times from several files compare directly because they share the machine's monotonic clock.
    Raises :class:`UsageError` naming ``file:line`` for the first malformed line.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    path_list = [Path(p) for p in paths]
    if not path_list:
        raise UsageError("no history file given")
    ops: list[Op] = []
    seen: dict[str, str] = {}
    with gc_paused():
        headers = [_read_one(p, ops, seen) for p in path_list]
    ops.sort(key=_INVOKE)
    return History(headers=headers, ops=ops)


# ---------------------------------------------------------------------------------------------
# Writing


def op_to_json(op: Op) -> str:
    """One history line (without the newline) for ``op``."""
    d: dict[str, Any] = {"type": "op", **op._asdict()}
    return json.dumps(d, separators=(",", ":"))


class HistoryWriter:
    """Append operations to a new history file; writes the header line on open.

    Plain blocking file I/O with the default buffer: a Locust process records thousands of ops
    per second and should not pay a system call for each. Call :meth:`close` (or use ``with``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        host: str | None = None,
        wall_anchor: float | None = None,
        mono_anchor: float | None = None,
    ) -> None:
        if wall_anchor is None or mono_anchor is None:
            wall_anchor, mono_anchor = time.time(), time.monotonic()
        self.path = Path(path)
        self.header = HistoryHeader(
            wall_anchor=wall_anchor, mono_anchor=mono_anchor, pid=os.getpid(), host=host
        )
        self._fh: IO[str] = self.path.open("w", encoding="utf-8")
        head = {
            "type": "header",
            "format": FORMAT,
            "wall_anchor": wall_anchor,
            "mono_anchor": mono_anchor,
            "pid": self.header.pid,
            "host": host,
        }
        self._fh.write(json.dumps(head) + "\n")

    def write(self, op: Op) -> None:
        self._fh.write(op_to_json(op) + "\n")

    def write_all(self, ops: Iterable[Op]) -> None:
        for op in ops:
            self.write(op)

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
