"""Writing the files lbdemo writes: through the path the user named, one-line errors. The one
writer of every file the project writes (reports, audits, stack.json, the bench's results).

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
import os
import stat
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
