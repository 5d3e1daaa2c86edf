"""The operation history: one JSON Lines file per load-generating process, read and written here.

The format is described in ``docs/history-format.md`` (and ``docs/schemas/``). This module is
plain standard library plus msgspec (no asyncio, no Locust): the locustfile
(``lbdemo/load/locustfile.py``) records its operations with :class:`HistoryWriter` from here, and
the checker loads a million operations in about two seconds: msgspec decodes each line straight
into an :class:`Op`, a slice of the file at a time and one key at a time (so that each key's
operations lie together in memory for the per-key check), the write ids are checked in one
comprehension and a set, and the rules on times in one loop. Only when something is
wrong is the file read again line by line, to name the first bad ``file:line``.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter, call
from pathlib import Path
from types import TracebackType
from typing import IO, Annotated, Any, Literal

import msgspec

from lbdemo.errors import UsageError

FORMAT = "lbdemo-history/1"
READ, WRITE = "read", "write"
OK, FAIL, UNKNOWN = "ok", "fail", "unknown"

_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class Op(msgspec.Struct, frozen=True, gc=False, tag="op", tag_field="type"):
    """One recorded operation, exactly one ``"type": "op"`` line of the file.

    A frozen msgspec Struct: decoded from JSON in C without an intermediate dict, hashable, and
    ``gc=False`` keeps a million of them out of the cyclic garbage collector's sight (they hold
    only strings and numbers, so they can never be part of a cycle).
    """

    client: _NonEmpty
    op: Literal["read", "write"]
    key: _NonEmpty
    write_id: str | None  # write: the id sent; read: the id returned, None for "not found"
    price: int | float | None
    invoke: float  # monotonic seconds
    complete: float
    status: int | None
    outcome: Literal["ok", "fail", "unknown"]
    replica: str | None


class _HeaderLine(msgspec.Struct, frozen=True, tag="header", tag_field="type"):
    format: str | None = None
    wall_anchor: float | None = None
    mono_anchor: float | None = None
    pid: int | None = None
    host: str | None = None
    boot_id: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryHeader:
    """The first line of a history file: clock anchors that turn monotonic times into wall time."""

    wall_anchor: float
    mono_anchor: float
    pid: int | None = None
    host: str | None = None
    format: str = FORMAT
    path: str | None = None  # the file it came from, when read
    # The kernel's id of this boot of this machine: CLOCK_MONOTONIC counts from the boot, so
    # only times under the same boot id compare (None: not recorded, e.g. an older file).
    boot_id: str | None = None

    def wall_time(self, t: float) -> float:
        """The wall-clock time (``time.time()`` scale) of monotonic time ``t``."""
        return self.wall_anchor + (t - self.mono_anchor)


@dataclass(slots=True)
class History:
    """Every operation of a run (merged over files), sorted by invocation time.

    :func:`read_history` guarantees what the checker relies on: finite times, ``complete`` not
    before ``invoke``, unique write ids, and one operation at a time per client. A History built
    by hand should keep to the same rules (:func:`check_one_op_per_client` tests the last), and
    ``ops`` should not change once :meth:`by_key` has been asked.
    """

    headers: list[HistoryHeader]
    ops: list[Op] = field(default_factory=list)
    _by_key: dict[str, list[Op]] | None = field(default=None, repr=False, compare=False)

    def by_key(self) -> dict[str, list[Op]]:
        """Each key's operations, in invocation order (the checker works key by key).

        :func:`read_history` gathers them while it decodes; otherwise they are gathered on the
        first call.
        """
        if self._by_key is None:
            self._by_key = group_by_key(self.ops)
        return self._by_key

    @property
    def t0(self) -> float:
        """The invocation time of the first operation: times in explanations are relative to it."""
        return self.ops[0].invoke if self.ops else 0.0

    @property
    def span(self) -> float:
        """Seconds from the first invocation to the last completion."""
        if not self.ops:
            return 0.0
        return max(map(_COMPLETE, self.ops)) - self.ops[0].invoke


_INVOKE = attrgetter("invoke")
_KEY = attrgetter("key")
_COMPLETE = attrgetter("complete")


# ---------------------------------------------------------------------------------------------
# Reading

_CHUNK_BYTES = 1 << 22  # decoded a slice at a time, so the file's bytes are never all in memory
_OPS_DECODER = msgspec.json.Decoder(Op)
_LINE_DECODER = msgspec.json.Decoder(Op | _HeaderLine)
_DECODE_ERRORS = (msgspec.MsgspecError, ValueError)  # UnicodeDecodeError is a ValueError


class _Malformed(Exception):
    """A rule broken in bulk: read the files again line by line to say where."""


def read_history(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> History:
    """Read and merge history files (one per load-generating process) into one History.

    Times from several files compare directly because they share the machine's monotonic clock.
    Raises :class:`UsageError` naming ``file:line`` for the first malformed line, and naming the
    client and both operations when one client's operations overlap.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    path_list = [Path(p) for p in paths]
    if not path_list:
        raise UsageError("no history file given")
    return _read(path_list, by_key=True)


def _read(path_list: list[Path], *, by_key: bool) -> History:
    ops: list[Op] = []
    # Each key's operations as decoded (None: not gathered): sorted by invocation below, they
    # are what History.by_key() would gather, without a walk over the whole history.
    groups: dict[str, list[Op]] | None = {} if by_key else None
    try:
        headers = [_read_fast(p, ops, groups) for p in path_list]
        check_one_clock(headers)
        _check_write_ids(ops)
        ops.sort(key=_INVOKE)
        overlap, ties = _check_times(ops)
    except _Malformed:
        _raise_first_bad_line(path_list)
        raise UsageError("malformed history (no single line to blame)") from None
    if ties and by_key:
        # Operations invoked at the same instant stay in the files' order (the sort is
        # stable), and decoding key by key has shuffled that order: read again in file order.
        return _read(path_list, by_key=False)
    if overlap is not None:
        raise _overlap_error(ops, overlap)
    if groups is not None:
        for group in groups.values():
            group.sort(key=_INVOKE)
    return History(headers=headers, ops=ops, _by_key=groups)


def check_one_clock(headers: list[HistoryHeader]) -> None:
    """Raise UsageError when the files were recorded under different monotonic clocks.

    Merging sorts operations by their monotonic times, which compare only within one boot of
    one machine (``docs/load.md``, "Time"); a file without a boot id is taken on trust.
    """
    boots = {h.boot_id: h for h in headers if h.boot_id is not None}
    if len(boots) > 1:
        a, b = list(boots.values())[:2]
        raise UsageError(
            f"{a.path} and {b.path} were recorded on different machines (or boots: "
            f"{a.boot_id} and {b.boot_id}); their monotonic clocks do not compare, so their "
            "operations cannot be ordered into one history"
        )


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read history {path}: {exc.strerror or exc}") from None


def _read_fast(path: Path, ops: list[Op], groups: dict[str, list[Op]] | None) -> HistoryHeader:
    """Append the ops of one file to ``ops``; raises _Malformed at the first sign of trouble.

    With ``groups``, decode each slice of the file one key at a time (see
    :func:`_decode_by_key`), which leaves the ops in an order of their own, not the file's, and
    append each key's to its list in ``groups``, in the file's order.
    """
    with _open(path) as fh:
        header: HistoryHeader | None = None
        for lineno, raw in enumerate(fh, 1):
            if raw.strip():
                header = _header(raw, str(path), lineno)
                break
        if header is None:
            raise UsageError(f"{path}: not an lbdemo history (no header line)")
        while chunk := fh.read(_CHUNK_BYTES):
            if not chunk.endswith(b"\n"):
                chunk += fh.readline()
            batch = _decode_by_key(chunk, groups) if groups is not None else None
            if batch is None:
                batch = _decode(chunk)
                if groups is not None:
                    group_by_key(batch, groups)
            ops += batch
    return header


def _decode(chunk: bytes) -> list[Op]:
    try:
        batch = _OPS_DECODER.decode_lines(chunk)
    except _DECODE_ERRORS:
        raise _Malformed from None
    if not _one_value_per_line(chunk, len(batch)):
        raise _Malformed
    return batch


# The key of an op line as HistoryWriter writes it (a key with an escape in it does not match,
# and its slice is decoded as it comes).
_KEY_FIELD = re.compile(rb'"key":"([^"\\]*)"')


def _decode_by_key(chunk: bytes, groups: dict[str, list[Op]]) -> list[Op] | None:
    """The ops of ``chunk``, decoded one key at a time; None when its lines do not show one key
    each (then :func:`_decode` reads it as it comes).

    The checker walks the history key by key. Decoded in file order, a key's operations (each a
    struct, two floats and a few strings) lie among every other key's in memory, and the checker
    waits on memory for nearly every one; decoded a key at a time, each key's lie together, and
    the check takes about half the time, for a fraction of that spent here (docs/checker.md,
    "Speed"). Which key a line goes with only decides where it is decoded: every line is still
    decoded and validated in full, and the number of values must match the number of lines.
    """
    lines = chunk.split(b"\n")
    if not lines[-1]:
        lines.pop()
    keys = _KEY_FIELD.findall(chunk)
    if len(keys) != len(lines):
        return None
    by_line_key: dict[bytes, list[bytes]] = {key: [] for key in set(keys)}
    # Each line to its key's list, in a loop that runs in C: map(call) over the lists' appends.
    appends = {key: group.append for key, group in by_line_key.items()}
    deque(map(call, map(appends.__getitem__, keys), lines), maxlen=0)
    decoded: list[list[Op]] = []
    try:
        for group in by_line_key.values():
            decoded.append(_OPS_DECODER.decode_lines(b"\n".join(group)))
    except _DECODE_ERRORS:
        raise _Malformed from None
    if sum(map(len, decoded)) != len(lines):
        return None
    batch: list[Op] = []
    for ops in decoded:
        # One key per list, unless a line's "key" was not its op's (a line with a nested
        # object): then each op goes to its own key's list.
        if ops and all(map(ops[0].key.__eq__, map(_KEY, ops))):
            groups.setdefault(ops[0].key, []).extend(ops)
        else:
            group_by_key(ops, groups)
        batch += ops
    return batch


def _one_value_per_line(chunk: bytes, values: int) -> bool:
    """Whether ``chunk`` has as many non-blank lines as ``values`` decoded from it.

    ``decode_lines`` also accepts two values on one line; counting newlines (one memchr pass)
    notices, and lines are only counted one by one when the numbers differ. (A blank line and a
    doubled line in the same chunk cancel out: every op in it is still checked in full, so only
    the line layout goes unremarked, and ruling that out would cost a second scan of the file.)
    """
    lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
    return values == lines or values == _non_blank_lines(chunk)


def _non_blank_lines(chunk: bytes) -> int:
    return sum(1 for line in chunk.splitlines() if line.strip())


def _header(raw: bytes, path: str, lineno: int) -> HistoryHeader:
    """The header line (the file's first non-blank line), or a UsageError naming it."""
    try:
        return _header_or_raise(raw, path)
    except ValueError as exc:
        raise UsageError(f"{path}:{lineno}: malformed history line: {exc}") from None


def _header_or_raise(raw: bytes, path: str) -> HistoryHeader:
    line = _decode_line(raw)
    if isinstance(line, Op):
        raise ValueError("operation before the header line")
    if line.format != FORMAT:
        raise ValueError(f"unsupported format {line.format!r} (expected {FORMAT!r})")
    if line.wall_anchor is None or line.mono_anchor is None:
        raise ValueError("header needs numeric 'wall_anchor' and 'mono_anchor'")
    return HistoryHeader(
        wall_anchor=line.wall_anchor,
        mono_anchor=line.mono_anchor,
        pid=line.pid,
        host=line.host,
        path=path,
        boot_id=line.boot_id,
    )


def group_by_key(ops: list[Op], groups: dict[str, list[Op]] | None = None) -> dict[str, list[Op]]:
    """Each key's operations, in the order of ``ops`` (appended to those of ``groups``, when
    given)."""
    if groups is None:
        groups = {}
    get = groups.get
    for op in ops:
        g = get(op.key)
        if g is None:
            groups[op.key] = [op]
        else:
            g.append(op)
    return groups


def _check_write_ids(ops: list[Op]) -> None:
    """Every write has an id of its own (``ops`` in the order they were decoded, which is the
    order they lie in memory)."""
    ids = [op.write_id for op in ops if op.op == WRITE]
    if None in ids or "" in ids or len(set(ids)) != len(ids):
        raise _Malformed


def _check_times(ops: list[Op]) -> tuple[Op | None, bool]:
    """Raise _Malformed when an operation completed before it was invoked; return the first
    operation (in invocation order) invoked before its client's previous one completed, if any,
    and whether two operations were invoked at the same instant.

    ``ops`` in invocation order. Every per-client rule of the checker assumes that a client
    issues one operation at a time (as a Locust user does); touching intervals are allowed.
    One loop for all three: reading the attributes of a million operations costs mostly the
    fetching from memory, so the other rules come almost free once the first has fetched the
    times (a separate pass in C for the first cost more than this loop saves).
    """
    last: dict[str, float] = {}  # client -> completion of its latest operation
    get = last.get
    never = previous = -math.inf
    overlap: Op | None = None
    ties = False
    for op in ops:
        invoke, complete = op.invoke, op.complete
        if complete < invoke:
            raise _Malformed
        if invoke == previous:
            ties = True
        previous = invoke
        client = op.client
        if invoke < get(client, never) and overlap is None:
            overlap = op
        last[client] = complete
    return overlap, ties


def check_one_op_per_client(ops: list[Op]) -> None:
    """Raise UsageError when a client invoked an operation before its previous one completed.

    ``ops`` in invocation order, times already checked (:func:`read_history` does both in one
    loop, :func:`_check_times`, which this asks too).
    """
    overlap, _ = _check_times(ops)
    if overlap is not None:
        raise _overlap_error(ops, overlap)


def _overlap_error(ops: list[Op], op: Op) -> UsageError:
    """The error for ``op``, invoked before the previous operation of its client completed."""
    i = next(i for i, p in enumerate(ops) if p is op)
    prev = next(p for p in reversed(ops[:i]) if p.client == op.client)
    return UsageError(
        f"client {op.client} has overlapping operations: {_describe(op)} was invoked "
        f"before {_describe(prev)} completed; a client must issue one operation at a time"
    )


def _describe(op: Op) -> str:
    what = f"{op.op} {op.write_id}" if op.op == WRITE else "read"
    return f"{what} of {op.key} [invoke={op.invoke!r}, complete={op.complete!r}]"


# The slow path: only after the fast one found something wrong.


def _raise_first_bad_line(paths: list[Path]) -> None:
    seen: dict[str, str] = {}  # write id -> file:line where it was first written
    for path in paths:
        with _open(path) as fh:
            has_header = False
            for lineno, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    if has_header:
                        _check_op_line(raw, f"{path}:{lineno}", seen)
                    else:
                        _header_or_raise(raw, str(path))
                        has_header = True
                except ValueError as exc:
                    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise UsageError(f"{path}:{lineno}: malformed history line: {msg}") from None


def _decode_line(raw: bytes) -> Op | _HeaderLine:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("history is not UTF-8 text") from None
    try:
        return _LINE_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        try:
            generic = msgspec.json.decode(raw)
        except msgspec.MsgspecError:
            raise ValueError(str(exc)) from None  # e.g. a number out of range
        if type(generic) is not dict:
            raise ValueError("not a JSON object") from None
        kind = generic.get("type")
        if kind not in ("op", "header"):
            raise ValueError(f"unknown line type {kind!r}") from None
        raise ValueError(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None


def _check_op_line(raw: bytes, where: str, seen: dict[str, str]) -> None:
    op = _decode_line(raw)
    if not isinstance(op, Op):
        raise ValueError("a second header line")
    if op.complete < op.invoke:
        raise ValueError(f"'complete' ({op.complete}) is before 'invoke' ({op.invoke})")
    if op.op == WRITE:
        wid = op.write_id
        if not wid:
            raise ValueError("a write needs a non-empty 'write_id'")
        if wid in seen:
            raise ValueError(f"write_id {wid!r} was already used at {seen[wid]}")
        seen[wid] = where


# ---------------------------------------------------------------------------------------------
# Writing

_BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str | None:
    """This boot of this machine (Linux), the scope within which monotonic times compare."""
    try:
        return _BOOT_ID_FILE.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def worker_history_path(path: str | os.PathLike[str], worker_index: int) -> Path:
    """Where worker ``worker_index`` of a distributed Locust run writes its part of ``path``:
    ``history.jsonl`` -> ``history.w0.jsonl``; lbdemo merges the parts into ``path``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.w{worker_index}{path.suffix}")


_ENCODER = msgspec.json.Encoder()


class HistoryWriter:
    """Writes one history file: the header line on :meth:`open`, then one line per operation.

    Lines are buffered and written every ``flush_lines`` lines or ``flush_interval_s`` seconds:
    a Locust process records thousands of operations per second and should not pay a system
    call for each. Not thread-safe, and need not be: Locust's users are greenlets on one thread
    and :meth:`record` never yields. ``with HistoryWriter(...) as w`` opens and closes it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        host: str | None = None,
        *,
        flush_lines: int = 2000,
        flush_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_anchor: float | None = None,
        mono_anchor: float | None = None,
        header_fields: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.host = host
        # Extra header fields (a merged file names its parts); readers ignore unknown fields.
        self._header_fields = dict(header_fields or {})
        self.ops_recorded = 0
        self.header: HistoryHeader | None = None
        self._anchors = (wall_anchor, mono_anchor)
        self._flush_lines = flush_lines
        self._flush_interval_s = flush_interval_s
        self._clock = clock
        self._buffer: list[bytes] = []
        self._last_flush = 0.0
        self._file: IO[bytes] | None = None

    @property
    def is_open(self) -> bool:
        return self._file is not None

    def open(self) -> HistoryWriter:
        """Start the file afresh (a new run never appends to an old one) with its header line."""
        self.close()
        wall, mono = self._anchors
        if wall is None or mono is None:
            # Read both clocks back to back so the anchors describe the same instant.
            wall, mono = time.time(), time.monotonic()
        pid = self._header_fields.get("pid", os.getpid())
        self.header = HistoryHeader(
            wall_anchor=wall, mono_anchor=mono, pid=pid, host=self.host, boot_id=boot_id()
        )
        self._file = self.path.open("wb")
        head = {
            "type": "header",
            "format": FORMAT,
            "wall_anchor": wall,
            "mono_anchor": mono,
            "pid": pid,
            "host": self.host,
            "boot_id": self.header.boot_id,
            **self._header_fields,
        }
        self._file.write(_ENCODER.encode(head) + b"\n")
        self._file.flush()
        self.ops_recorded = 0
        self._last_flush = self._clock()
        return self

    def write(self, op: Op) -> None:
        """Buffer one operation line; flush when the buffer is big or old enough."""
        if self._file is None:
            raise ValueError(f"history writer for {self.path} is not open")
        self._buffer.append(_ENCODER.encode(op))
        self.ops_recorded += 1
        if (
            len(self._buffer) >= self._flush_lines
            or self._clock() - self._last_flush >= self._flush_interval_s
        ):
            self.flush()

    def write_all(self, ops: Iterable[Op]) -> None:
        for op in ops:
            self.write(op)

    def record(self, **fields: Any) -> None:
        """:meth:`write` an Op given by keyword (``client=..., op=..., ...``)."""
        self.write(Op(**fields))

    def flush(self) -> None:
        if self._file is None:
            return
        if self._buffer:
            self._buffer.append(b"")
            self._file.write(b"\n".join(self._buffer))
            self._buffer.clear()
        self._file.flush()
        self._last_flush = self._clock()

    def close(self) -> None:
        if self._file is None:
            return
        self.flush()
        self._file.close()
        self._file = None

    def __enter__(self) -> HistoryWriter:
        return self if self.is_open else self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
