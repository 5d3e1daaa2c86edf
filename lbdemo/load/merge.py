"""One history from the parts a distributed Locust run leaves: one file per worker, merged.

Each worker of ``lbdemo demo --workers N`` writes its own part (``<label>-history.w<K>.jsonl``,
see :func:`lbdemo.history.worker_history_path`), so no two processes ever append to one file.
After the run the parts become the run's one ``<label>-history.jsonl``, and only when that is
sound:

* every part is complete: it holds exactly as many operations as its worker said it recorded
  (the worker's ``summary:`` line). A worker that died leaves no summary or a short file, and
  a gap in the history would hide operations from the checker (a write nobody knows of makes a
  later read of it look like a garbage read), so that is an error, never a silent gap;
* the parts share one monotonic clock (one boot of one machine; ``docs/load.md``, "Time"):
  operations are ordered by their invocation times across parts;
* no client appears in two parts and no write id twice: a client issues one operation at a
  time only within its own process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from pathlib import Path

from lbdemo.errors import UsageError
from lbdemo.history import (
    WRITE,
    History,
    HistoryWriter,
    check_one_clock,
    check_one_op_per_client,
    read_history,
)


@dataclass(frozen=True)
class WorkerPart:
    """One worker's history file and what the worker itself said about it."""

    index: int
    path: Path
    ops_reported: int | None  # from the worker's summary line; None: it never said (it died)


def merge_worker_histories(parts: Sequence[WorkerPart], out: Path) -> History:
    """Check every part, merge them in invocation order, write ``out``; return the merged run.

    Raises :class:`UsageError` naming the worker and the file when a part is missing,
    incomplete, malformed, or clashes with another part. ``out`` is written whole only after
    every check passed.
    """
    if not parts:
        raise UsageError("no worker histories to merge")
    histories = [_read_part(part) for part in parts]
    check_one_clock([h.headers[0] for h in histories])
    _check_disjoint(parts, histories)
    ops = sorted(chain.from_iterable(h.ops for h in histories), key=attrgetter("invoke"))
    check_one_op_per_client(ops)
    merged = History(headers=[h.headers[0] for h in histories], ops=ops)
    _write(merged, out, parts)
    return merged


def _read_part(part: WorkerPart) -> History:
    where = f"worker {part.index} ({part.path})"
    if not part.path.is_file():
        raise UsageError(f"{where}: no history file; the worker did not run to the end")
    history = read_history(part.path)  # a malformed line is named file:line
    if part.ops_reported is None:
        raise UsageError(
            f"{where}: the worker reported no summary, so its history cannot be known to be "
            f"complete ({len(history.ops)} operations in the file); it died before the end?"
        )
    if len(history.ops) != part.ops_reported:
        raise UsageError(
            f"{where}: the file holds {len(history.ops)} operations but the worker recorded "
            f"{part.ops_reported}; the history is incomplete"
        )
    return history


def _check_disjoint(parts: Sequence[WorkerPart], histories: list[History]) -> None:
    client_owner: dict[str, int] = {}
    write_owner: dict[str, int] = {}
    for part, history in zip(parts, histories, strict=True):
        for client in {op.client for op in history.ops}:
            other = client_owner.setdefault(client, part.index)
            if other != part.index:
                raise UsageError(
                    f"client {client} appears in the histories of workers {other} and "
                    f"{part.index}; client ids must be unique across workers"
                )
        for op in history.ops:
            if op.op == WRITE and op.write_id is not None:
                other = write_owner.setdefault(op.write_id, part.index)
                if other != part.index:
                    raise UsageError(
                        f"write id {op.write_id} was written by workers {other} and "
                        f"{part.index}; write ids must be unique across workers"
                    )


def _write(history: History, out: Path, parts: Sequence[WorkerPart]) -> None:
    """The merged file: one header (the first part's clock anchors; the parts it came from),
    then every operation in invocation order. Written beside ``out`` and renamed into place."""
    first = history.headers[0]
    merged_from = [
        {"worker": part.index, "file": part.path.name, "pid": header.pid, "ops": part.ops_reported}
        for part, header in zip(parts, history.headers, strict=True)
    ]
    partial = out.with_name(f".{out.name}.partial")
    writer = HistoryWriter(
        partial,
        first.host,
        flush_lines=10_000,
        flush_interval_s=3600.0,
        wall_anchor=first.wall_anchor,
        mono_anchor=first.mono_anchor,
        header_fields={"pid": None, "merged_from": merged_from},
    )
    try:
        with writer:
            writer.write_all(history.ops)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
