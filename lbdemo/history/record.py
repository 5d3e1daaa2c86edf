"""What a history holds: the format's name, one operation (:class:`Op`), a file's header, and
a whole run's :class:`History`; the writer, the reader and the rules all speak these.

Standard library plus msgspec only (no asyncio, no Locust): the locustfile imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Annotated, Literal

import msgspec

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

    :func:`lbdemo.history.reader.read_history` guarantees what the checker relies on: finite
    times, ``complete`` not before ``invoke``, unique write ids, and one operation at a time per
    client. A History built by hand should keep to the same rules
    (:func:`lbdemo.history.rules.check_one_op_per_client` tests the last), and
    ``ops`` should not change once :meth:`by_key` has been asked.
    """

    headers: list[HistoryHeader]
    ops: list[Op] = field(default_factory=list)
    _by_key: dict[str, list[Op]] | None = field(default=None, repr=False, compare=False)

    def by_key(self) -> dict[str, list[Op]]:
        """Each key's operations, in invocation order (the checker works key by key).

        :func:`lbdemo.history.reader.read_history` gathers them while it decodes; otherwise they
        are gathered on the first call.
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


_COMPLETE = attrgetter("complete")


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
