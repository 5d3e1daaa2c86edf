"""The files lbdemo writes, the JSON it reads from users, and text from outside on its way to
a terminal (:func:`printable`): one-line errors for all three.

The one writer of every file the project writes (reports, audits, stack.json, the bench's
results), and the words for what is wrong in a JSON input (:func:`describe_bad_json`: how deep
it is nested, which character was found where JSON has none).

What a path names decides how it is written (issue 21, item 3; docs/checker.md, "Output files"):

- a new name or a regular file: written whole or not at all, to ``.NAME.PID.partial`` beside
  it and renamed over it, so that a reader never sees half a report (a file that was there
  keeps its permission bits; a hard link to it is not followed: the name gets the new file);
- a symbolic link is followed, as ``curl -o`` and ``pytest --junitxml`` follow it: the link
  stays a link and what it points to gets the text, by the rule above for a regular file or a
  new name (a dangling link creates the file it names);
- a character device or a FIFO (``/dev/null``, ``/dev/stdout``, ``>(gzip > r.gz)``) is opened
  and written as it is, never replaced (as root a rename would replace ``/dev/null``);
- a directory, a socket or a block device is refused in one line, and nothing is changed.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

from lbdemo.errors import UsageError

# What a refused path is, for the one-line error.
_REFUSED = {
    stat.S_IFDIR: "a directory",
    stat.S_IFSOCK: "a socket",
    stat.S_IFBLK: "a block device",
}


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a file the user named, by the rules in this module's docstring; a missing
    directory, a permission or a path that names no file to write is a usage error."""
    data = text.encode("utf-8")
    try:
        found = os.stat(path)  # follows links: what the path leads to decides
    except FileNotFoundError:
        found = None  # a new name, or a dangling link to one
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    kind = None if found is None else stat.S_IFMT(found.st_mode)
    if kind in _REFUSED:
        raise UsageError(
            f"cannot write {path}: it is {_REFUSED[kind]} (lbdemo writes a regular file, a "
            "new name, a character device such as /dev/null, or a FIFO)"
        )
    try:
        if kind is None or kind == stat.S_IFREG:
            # The rename must replace the file the link leads to, not the link.
            target = Path(os.path.realpath(path))
            _replace_whole(target, data, None if found is None else stat.S_IMODE(found.st_mode))
        else:
            _write_through(path, data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _replace_whole(target: Path, data: bytes, mode: int | None) -> None:
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        if mode is not None:
            partial.chmod(mode)
        partial.replace(target)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


def _write_through(path: str | os.PathLike[str], data: bytes) -> None:
    """A device or a FIFO: opened (following links) and written, never created or replaced."""
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """The one writer of the project's JSON files: indented, UTF-8, newline-terminated, whole.

    NaN and infinities are refused (``json.dumps`` would write ``NaN``, which is not JSON and
    which other readers reject): a non-finite figure is a bug to surface, not to publish.
    """
    try:
        text = json.dumps(data, indent=2, allow_nan=False)
    except ValueError as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None
    write_text(path, text + "\n")


# ---------------------------------------------------------------------------------------------
# Reading the JSON files users hand to lbdemo (reports, audits): bounded in size and depth,
# numbers within what the readers compute with, and a refusal names what it found.

_INT_LIMIT = 2**63  # counts are 64-bit everywhere else (PostgreSQL, the schemas' readers)


class _Refused(ValueError):
    """A value JSON allows (or Python's json module does) that lbdemo does not read."""


def _constant(name: str) -> Any:
    raise _Refused(f"found {name}, which JSON does not have (a figure must be finite)")


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > 19 or abs(value := int(text)) >= _INT_LIMIT:
        raise _Refused(f"found a whole number of {digits:,} digits, beyond 64 bits")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"found {text[:40]}, beyond the range of a double")
    return value


def read_json(path: str | os.PathLike[str], what: str, max_bytes: int) -> Any:
    """The JSON value in the file ``path``, a ``what`` (``"report"``) of at most ``max_bytes``;
    anything else is one UsageError line naming what was found."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None

    def refuse(reason: str) -> UsageError:
        return UsageError(f"{path}: not an lbdemo {what} ({reason})")

    if len(raw) > max_bytes:
        raise refuse(f"more than {max_bytes:,} bytes")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise refuse("not JSON: " + describe_bad_json(raw, "invalid character (byte 0)"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"not UTF-8 text: byte {exc.start:,} is 0x{raw[exc.start]:02X}") from None
    try:
        return json.loads(text, parse_constant=_constant, parse_int=_integer, parse_float=_float)
    except RecursionError:
        raise refuse(f"not JSON: {too_deep(raw)}") from None
    except _Refused as exc:
        raise refuse(f"not JSON as lbdemo reads it: {exc}") from None
    except ValueError as exc:
        raise refuse(f"not JSON: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Naming what was found in JSON that is refused (only on the error path: none of it is fast).

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")
_INVALID_AT = re.compile(r"invalid character \(byte (\d+)\)")
_NOT_JSON = (b"NaN", b"-Infinity", b"Infinity")


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of ``raw`` nest (brackets inside strings ignored)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub(b"", raw)):
        if bracket in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def too_deep(raw: bytes) -> str:
    """The words for JSON that a decoder gave up on (RecursionError): how deep it is."""
    return (
        f"JSON nested {json_depth(raw):,} levels deep, more than the decoder takes (about "
        f"Python's recursion limit, {sys.getrecursionlimit():,})"
    )


def describe_bad_json(raw: bytes, message: str) -> str:
    """A decoder's ``invalid character (byte N)`` with what is at byte N named: NaN and the
    infinities (which JSON does not have), a UTF-8 byte-order mark, or the character's code."""
    match = _INVALID_AT.search(message)
    if match is None:
        return message
    at = int(match.group(1))
    if at > 0 and raw[at - 1 : at] == b"-" and raw.startswith(b"Infinity", at):
        at -= 1
    rest = raw[at : at + 16]
    if rest.startswith(b"\xef\xbb\xbf"):
        found = "a UTF-8 byte-order mark (EF BB BF), which JSON text must not start with"
    else:
        word = next((w for w in _NOT_JSON if rest.startswith(w)), None)
        if word is not None:
            found = f"{word.decode()}, which JSON does not have (a figure must be finite)"
        else:
            char = rest.decode("utf-8", "replace")[:1] or "end of text"
            found = f"U+{ord(char):04X} {char!r}" if len(char) == 1 else char
    return f"{message}: found {found}"


# ---------------------------------------------------------------------------------------------
# Text from outside (a history, a report, a client) on its way to a terminal or a file.

# C0 controls but newline and tab, DEL, C1 (U+0080-U+009F: 0x9B is CSI on some terminals), and
# the bidirectional overrides that reorder what a reader sees.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` with every control character a terminal would act on (ESC, BEL, NUL, CR, C1,
    DEL, bidi overrides) shown as an escape (``\\x1b``) instead: what was sent stays visible,
    and nothing from a history can set a terminal's title or move its cursor. Newlines and tabs
    are kept, unless ``one_line`` (an error line): then a newline is ``\\n`` too. Every print
    of data from outside goes through this."""
    text = _CONTROL.sub(_escape, text)
    return text.replace("\n", "\\n") if one_line else text
