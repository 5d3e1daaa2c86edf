"""Read a history in lbdemo's format or another tool's: named (``--from``) or told by content.

What the first characters show decides, when they are unambiguous: ``{"type": "header"`` is
lbdemo's JSON Lines, ``{"model"`` Porcupine's JSON, ``INFO  jepsen.util -`` a Jepsen log, ``[``,
``(``, ``{:`` or ``;`` Jepsen EDN. Anything else needs ``--from``, and is refused if it is not
that format either.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from lbdemo.errors import UsageError
from lbdemo.history import History, read_history
from lbdemo.interop import jepsen, porcupine
from lbdemo.interop.calls import Foreign

FROM = ("jepsen", "porcupine")
# The kinds of file each --from takes: Porcupine ships Jepsen logs and EDN logs as test data.
ACCEPTS = {
    "jepsen": ("jepsen-edn", "jepsen-log"),
    "porcupine": ("porcupine-json", "jepsen-edn", "jepsen-log"),
}
READERS = {
    "jepsen-edn": jepsen.edn_calls,
    "jepsen-log": jepsen.log_calls,
    "porcupine-json": porcupine.json_calls,
}
NAMES = {
    "lbdemo": "an lbdemo history (JSON Lines)",
    "jepsen-edn": "a Jepsen history (EDN)",
    "jepsen-log": "a Jepsen log",
    "porcupine-json": "Porcupine JSON",
}
_HEAD_BYTES = 4096


def sniff(path: str | Path) -> str | None:
    """The kind of file ``path`` is, from its first characters, or None when they do not say."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    text = head.lstrip("\ufeff \t\r\n,")
    if re.match(r'\{\s*"type"\s*:\s*"header"', text):
        return "lbdemo"
    if re.match(r'\{\s*"model"\s*:', text):
        return "porcupine-json"
    if re.match(r"INFO\s+jepsen\.util\s+-\s", text):
        return "jepsen-log"
    if re.match(r"(\[|\(|;|\{\s*:)", text):
        return "jepsen-edn"
    return None


def load(paths: Sequence[str], source: str | None = None) -> History:
    """The history in ``paths``: lbdemo's files, or one file of another tool (``source``:
    ``jepsen`` or ``porcupine``; None: recognised by content, else read as lbdemo's).

    A foreign history lbdemo's own model cannot take raises
    :class:`~lbdemo.interop.calls.Refused`; :func:`load_any` gives its operations instead."""
    found = load_any(paths, source)
    return found if isinstance(found, History) else found.history()


def load_any(paths: Sequence[str], source: str | None = None) -> History | Foreign:
    """lbdemo's history in ``paths``, or the operations of another tool's (one file)."""
    kinds = {p: sniff(p) for p in paths}
    foreign = [p for p, k in kinds.items() if k not in (None, "lbdemo")]
    if source is None and not foreign:
        return read_history(list(paths))
    if len(paths) != 1:
        raise UsageError(
            "a history of another tool is one file; give one --history FILE "
            f"({len(paths)} given{'' if source else ', ' + foreign[0] + ' is one'})"
        )
    path = paths[0]
    kind = kinds[path]
    if source is None:
        assert kind is not None
        return READERS[kind](path)
    if kind not in ACCEPTS[source]:
        seen = NAMES.get(kind or "", "none of the formats --from takes")
        raise UsageError(
            f"{path} is {seen}, not a {source} history "
            f"(--from {source} reads: {', '.join(NAMES[k] for k in ACCEPTS[source])})"
        )
    return READERS[kind](path)
