"""Reading history files: decode, merge and check them into one :class:`History`.

The format is described in ``docs/history-format.md`` (and ``docs/schemas/``). The checker loads
a million operations in about two seconds: msgspec decodes each line straight into an
:class:`Op`, a slice of the file at a time and one key at a time (so that each key's operations
lie together in memory for the per-key check), and the rules (:mod:`lbdemo.history.rules`) are
asked over the whole of it in bulk. Only when something is wrong is the file read again line by
line, to name the first bad ``file:line``.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from operator import attrgetter, call
from pathlib import Path
from typing import IO

import msgspec

from lbdemo.errors import UsageError
from lbdemo.history.record import FORMAT, History, HistoryHeader, Op, group_by_key
from lbdemo.history.rules import (
    Malformed,
    check_one_clock,
    check_op,
    check_times,
    check_write_ids,
    overlap_error,
)


class _HeaderLine(msgspec.Struct, frozen=True, tag="header", tag_field="type"):
    format: str | None = None
    wall_anchor: float | None = None
    mono_anchor: float | None = None
    pid: int | None = None
    host: str | None = None
    boot_id: str | None = None


_INVOKE = attrgetter("invoke")
# Ties on invocation broken by completion: one client's [3, 3] goes before its [3, 4] whatever
# the files' order, so the order the checker sees never depends on the lines' order.
_INVOKE_COMPLETE = attrgetter("invoke", "complete")
_KEY = attrgetter("key")

_CHUNK_BYTES = 1 << 22  # decoded a slice at a time, so the file's bytes are never all in memory
# The longest line read: a line is the slice's tail read to its newline, so without a bound a
# file with no newline would be read whole into memory. (The fast path may accept a line up to
# twice as long inside a slice; one this long at a slice's end is always refused.)
MAX_LINE_BYTES = 1 << 22
_OPS_DECODER = msgspec.json.Decoder(Op)
_LINE_DECODER = msgspec.json.Decoder(Op | _HeaderLine)
# UnicodeDecodeError is a ValueError; RecursionError: nested deeper than msgspec decodes.
_DECODE_ERRORS = (msgspec.MsgspecError, ValueError, RecursionError)


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
        check_write_ids(ops)
        ops.sort(key=_INVOKE)
        overlap, ties = check_times(ops)
        if ties:
            # Only then: a float key sorts a million ops faster than a tuple key, and without
            # two equal invocations the two orders are the same.
            ops.sort(key=_INVOKE_COMPLETE)
            overlap, _ = check_times(ops)
    except Malformed:
        _raise_first_bad_line(path_list)
        raise UsageError("malformed history (no single line to blame)") from None
    if ties and by_key:
        # Operations with the same times stay in the files' order (the sort is stable), and
        # decoding key by key has shuffled that order: read again in file order.
        return _read(path_list, by_key=False)
    if overlap is not None:
        raise overlap_error(ops, overlap)
    if groups is not None:
        for group in groups.values():
            group.sort(key=_INVOKE)
    return History(headers=headers, ops=ops, _by_key=groups)


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read history {path}: {exc.strerror or exc}") from None


def _read_fast(path: Path, ops: list[Op], groups: dict[str, list[Op]] | None) -> HistoryHeader:
    """Append the ops of one file to ``ops``; raises Malformed at the first sign of trouble.

    With ``groups``, decode each slice of the file one key at a time (see
    :func:`_decode_by_key`), which leaves the ops in an order of their own, not the file's, and
    append each key's to its list in ``groups``, in the file's order.
    """
    with _open(path) as fh:
        header = read_header(fh, path)
        for chunk in read_chunks(fh):
            batch = _decode_by_key(chunk, groups) if groups is not None else None
            if batch is None:
                batch = _decode(chunk)
                if groups is not None:
                    group_by_key(batch, groups)
            ops += batch
    return header


def read_header(fh: IO[bytes], path: Path) -> HistoryHeader:
    """The header of the history open in ``fh`` (its first non-blank line), or a UsageError."""
    for lineno, raw in _lines(fh, path):
        if raw.strip():
            return _header(raw, str(path), lineno)
    raise UsageError(f"{path}: not an lbdemo history (no header line)")


def read_chunks(fh: IO[bytes], size: int = _CHUNK_BYTES) -> Iterator[bytes]:
    """The rest of ``fh`` in slices of whole lines of about ``size`` bytes; Malformed for a
    line too long."""
    while chunk := fh.read(size):
        if not chunk.endswith(b"\n"):
            tail = fh.readline(MAX_LINE_BYTES)
            if len(tail) == MAX_LINE_BYTES and not tail.endswith(b"\n"):
                raise Malformed  # a line too long: the slow path names it
            chunk += tail
        yield chunk


def decode_ops(chunk: bytes) -> list[Op]:
    """The ops of a slice of whole lines, one per line, each validated; Malformed if not."""
    return _decode(chunk)


def _lines(fh: IO[bytes], path: Path) -> Iterable[tuple[int, bytes]]:
    """The numbered lines of ``fh``, each read with a bound: a longer one is a UsageError."""
    lineno = 0
    while raw := fh.readline(MAX_LINE_BYTES):
        lineno += 1
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise UsageError(
                f"{path}:{lineno}: malformed history line: longer than {MAX_LINE_BYTES:,} bytes"
            )
        yield lineno, raw


def _decode(chunk: bytes) -> list[Op]:
    try:
        batch = _OPS_DECODER.decode_lines(chunk)
    except _DECODE_ERRORS:
        raise Malformed from None
    if not _one_value_per_line(chunk, len(batch)):
        raise Malformed
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
        raise Malformed from None
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


# The slow path: only after the fast one found something wrong.


def _raise_first_bad_line(paths: list[Path]) -> None:
    seen: dict[str, str] = {}  # write id -> file:line where it was first written
    for path in paths:
        with _open(path) as fh:
            has_header = False
            for lineno, raw in _lines(fh, path):
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
    # Only on this path (a line already found wrong) are the words for bad JSON needed: the
    # package the locustfile imports stays free of the rest of lbdemo (test_writer_imports).
    from lbdemo.files import describe_bad_json, too_deep

    try:
        return _LINE_DECODER.decode(raw)
    except RecursionError:
        raise ValueError(too_deep(raw)) from None
    except msgspec.ValidationError as exc:
        try:
            generic = msgspec.json.decode(raw)
        except (msgspec.MsgspecError, RecursionError):
            raise ValueError(str(exc)) from None  # e.g. a number out of range
        if type(generic) is not dict:
            raise ValueError("not a JSON object") from None
        kind = generic.get("type")
        if kind not in ("op", "header"):
            raise ValueError(f"unknown line type {kind!r}") from None
        raise ValueError(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ValueError(describe_bad_json(raw, str(exc))) from None


def _check_op_line(raw: bytes, where: str, seen: dict[str, str]) -> None:
    op = _decode_line(raw)
    if not isinstance(op, Op):
        raise ValueError("a second header line")
    check_op(op, where, seen)
