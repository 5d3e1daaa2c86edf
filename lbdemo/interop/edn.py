"""A small EDN reader and writer: the part of EDN that Jepsen and Knossos histories use.

Read: keywords (``:type``), maps, vectors, lists, ``nil``, strings, integers, floats, booleans,
nested to :data:`MAX_DEPTH`, ``;`` comments, commas as whitespace. Everything else EDN allows
(tagged values such as ``#inst``, sets, ``#_`` discards, symbols, characters, ratios, ``N``/``M``
numbers) is refused with one line naming what and where, rather than guessed at: a history is
evidence, and a value read wrongly would be a wrong verdict.

Values come back as Python values: :class:`Keyword`, ``dict``, ``list`` (vectors and lists
alike), ``None``, ``str``, ``int``, ``float``, ``bool``. :func:`dumps` writes them back.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from lbdemo.errors import UsageError

MAX_DEPTH = 64  # Jepsen's operations nest three or four deep; a file nesting 64 is not a history
MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Keyword:
    """An EDN keyword, ``:name`` (``:ns/name`` keeps its namespace in ``name``)."""

    name: str

    def __repr__(self) -> str:
        return f":{self.name}"


class EdnError(UsageError):
    """Input that is not the EDN this reader takes: one line, ``FILE:LINE:COL: what``."""


_WS = re.compile(r"(?:[\s,]+|;[^\n]*)*")
_NUMBER = re.compile(r"[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?")
_DIGITS = "0123456789"  # str.isdigit() takes "¹" and "٣" too; EDN does not
_TOKEN_END = re.compile(r"[^\s,;()\[\]{}\"]*")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_CLOSERS = {"[": "]", "(": ")", "{": "}"}


class _Reader:
    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.where = where
        self.pos = 0

    def fail(self, what: str, pos: int | None = None) -> EdnError:
        at = self.pos if pos is None else pos
        line = self.text.count("\n", 0, at) + 1
        col = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return EdnError(f"{self.where}:{line}:{col}: {what}")

    def skip(self) -> None:
        m = _WS.match(self.text, self.pos)
        if m:
            self.pos = m.end()

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(f"values nested more than {MAX_DEPTH} deep")
        self.skip()
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.fail("the input ends where a value was expected")
        c = text[pos]
        if c in "[({":
            return self.collection(c, depth)
        if c in ")]}":
            raise self.fail(f"unexpected {c!r}")
        if c == '"':
            return self.string()
        if c == ":":
            token = self.token(pos + 1)
            if not token or token.startswith(":"):
                raise self.fail("a keyword needs a name", pos)
            return Keyword(token)
        if c == "#":
            nxt = text[pos + 1 : pos + 2]
            what = {"{": "sets (#{...})", "_": "discarded values (#_)"}.get(
                nxt, f"tagged values (#{self.token(pos + 1)})"
            )
            raise self.fail(f"EDN {what} are not supported", pos)
        if c == "\\":
            raise self.fail("EDN characters (\\c) are not supported", pos)
        if c in _DIGITS or (c in "+-" and text[pos + 1 : pos + 2] in tuple(_DIGITS)):
            return self.number()
        token = self.token(pos)
        if token == "nil":
            return None
        if token in ("true", "false"):
            return token == "true"
        raise self.fail(f"EDN symbols ({token or repr(c)}) are not supported", pos)

    def token(self, start: int) -> str:
        m = _TOKEN_END.match(self.text, start)
        end = m.end() if m else start
        self.pos = end
        return self.text[start:end]

    def number(self) -> int | float:
        start = self.pos
        m = _NUMBER.match(self.text, start)
        assert m is not None  # the caller saw a digit
        rest = self.token(m.end())
        if rest:
            raise self.fail(
                f"numbers like {self.text[start : self.pos]!r} are not supported", start
            )
        raw = m.group()
        if "." in raw or "e" in raw or "E" in raw:
            value = float(raw)
            if not math.isfinite(value):
                raise self.fail(f"number out of range: {raw}", start)
            return value
        if len(raw) > 40:
            raise self.fail(f"integer too long ({len(raw)} digits)", start)
        return int(raw)

    def string(self) -> str:
        text, i = self.text, self.pos + 1
        out: list[str] = []
        while True:
            j = text.find('"', i)
            k = text.find("\\", i)
            if j < 0:
                raise self.fail("a string is not closed")
            if k < 0 or j < k:
                out.append(text[i:j])
                self.pos = j + 1
                return "".join(out)
            out.append(text[i:k])
            esc = text[k + 1 : k + 2]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                i = k + 2
            elif esc == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[k + 2 : k + 6]):
                out.append(chr(int(text[k + 2 : k + 6], 16)))
                i = k + 6
            else:
                raise self.fail(f"unknown string escape {chr(92) + esc!r}", k)

    def collection(self, opener: str, depth: int) -> Any:
        start = self.pos
        closer = _CLOSERS[opener]
        self.pos += 1
        items: list[Any] = []
        while True:
            self.skip()
            if self.pos >= len(self.text):
                raise self.fail(f"{opener!r} is not closed", start)
            c = self.text[self.pos]
            if c == closer:
                self.pos += 1
                break
            if c in ")]}":
                raise self.fail(f"{c!r} closes {opener!r}", self.pos)
            items.append(self.value(depth + 1))
        if opener != "{":
            return items
        if len(items) % 2:
            raise self.fail("a map needs an even number of forms", start)
        out: dict[Any, Any] = {}
        for key, value in zip(items[::2], items[1::2], strict=True):
            if isinstance(key, list | dict):
                raise self.fail("map keys that are collections are not supported", start)
            if key in out:
                raise self.fail(f"duplicate map key {dumps(key)}", start)
            out[key] = value
        return out


def loads_all(text: str, where: str = "<edn>") -> list[Any]:
    """Every top-level value in ``text`` (a Jepsen history: one vector, or one map per line)."""
    if len(text) > MAX_BYTES:
        raise EdnError(f"{where}: more than {MAX_BYTES // (1024 * 1024)} MiB of EDN")
    reader = _Reader(text, where)
    out: list[Any] = []
    while True:
        reader.skip()
        if reader.pos >= len(text):
            return out
        out.append(reader.value(1))


def loads(text: str, where: str = "<edn>") -> Any:
    """The one value in ``text``."""
    values = loads_all(text, where)
    if len(values) != 1:
        raise EdnError(f"{where}: expected one EDN value, found {len(values)}")
    return values[0]


def dumps(value: Any) -> str:
    """``value`` as EDN on one line (maps as ``{:k v, ...}``, lists and tuples as vectors)."""
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Keyword):
        return f":{value.name}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"EDN has no {value}")
        return repr(value)
    if isinstance(value, str):
        body = (
            value.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\t", "\\t")
            .replace("\r", "\\r")
        )
        return f'"{body}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{dumps(k)} {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + " ".join(dumps(v) for v in value) + "]"
    raise TypeError(f"no EDN for {type(value).__name__}")
