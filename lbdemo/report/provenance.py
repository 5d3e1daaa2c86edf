"""Where a result came from: the command, the code, the machine and its load, the versions.

Every report's ``run`` carries :func:`run_provenance`, so a number read months later can be
judged: was the machine busy, which commit measured it, was it 2 cores or 64. Everything here
is read from files and the interpreter; nothing fails: what cannot be known is ``None``.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lbdemo

_HEX40 = re.compile(r"[0-9a-f]{40}")


def run_provenance(argv: Sequence[str], *, postgresql: str | None) -> dict[str, Any]:
    """The provenance block of a report's ``run``.

    ``argv`` is the command's arguments after the program name (``sys.argv[1:]``);
    ``postgresql`` is the server version the run used
    (:func:`lbdemo.store.version.embedded_postgres_version` for the embedded server, the server's
    own for ``--dsn``), or ``None`` when no database was involved.
    """
    return {
        "command": shlex.join(["lbdemo", *argv]),
        "lbdemo_version": lbdemo.__version__,
        "git_commit": git_commit(Path(lbdemo.__file__).resolve().parent.parent),
        "host": host_info(),
        "load_average": load_average(),
        "python": platform.python_version(),
        "postgresql": postgresql,
    }


def host_info() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model(), "memory_bytes": memory_bytes()}


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages: other work on the machine skews every figure."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or None
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in ("model name", "Hardware", "cpu model"):
            return value.strip() or None
    return platform.processor() or None


def memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def git_commit(source: Path) -> str | None:
    """The commit checked out in the git work tree holding ``source``, read from ``.git``
    without running git (a worktree's ``.git`` file and packed refs included); ``None`` when
    the code is not in a git checkout (an installed wheel) or the repository is unreadable."""
    try:
        gitdir = _find_gitdir(source)
        if gitdir is None:
            return None
        head = (gitdir / "HEAD").read_text(encoding="utf-8").strip()
        if _HEX40.fullmatch(head):
            return head  # a detached HEAD
        if not head.startswith("ref: "):
            return None
        return _resolve_ref(gitdir, head.removeprefix("ref: ").strip())
    except (OSError, UnicodeDecodeError):
        return None


def _find_gitdir(source: Path) -> Path | None:
    for directory in (source, *source.parents):
        dot_git = directory / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # a linked worktree or a submodule: "gitdir: <path>"
            line = dot_git.read_text(encoding="utf-8").strip()
            if not line.startswith("gitdir: "):
                return None
            return (directory / line.removeprefix("gitdir: ")).resolve()
    return None


def _resolve_ref(gitdir: Path, ref: str) -> str | None:
    # A linked worktree keeps HEAD itself but shares refs with the main repository.
    common = gitdir
    if (gitdir / "commondir").is_file():
        common = (gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()).resolve()
    for base in dict.fromkeys((gitdir, common)):
        loose = base / ref
        if loose.is_file():
            value = loose.read_text(encoding="utf-8").strip()
            return value if _HEX40.fullmatch(value) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name.strip() == ref and _HEX40.fullmatch(sha):
                return sha
    return None
