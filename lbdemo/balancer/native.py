"""The compiled data path: load mypyc builds of the balancer's hot modules, when asked.

The data path (``client``, ``upstream``, ``exchange`` and what they call per request) is plain
typed Python. ``lbdemo compile`` (:mod:`lbdemo.balancer.native_build`) compiles the same source
files with mypyc into a directory of its own, named after a digest of every source file of this
package, the interpreter's ABI and mypyc's version. Setting ``LBDEMO_COMPILED=DIR`` makes
:func:`activate_from_environment` (called by ``lbdemo/balancer/__init__.py`` before anything
imports the hot modules) load them from the build in ``DIR`` whose digest matches the sources
on disk. A build made from other sources is never loaded: an edited ``client.py`` is run as
Python until it is compiled again, so a stale build cannot run code that is no longer written
anywhere. Without the variable, or without a matching build, the interpreted modules run: the
pure-Python path is the fallback and behaves the same (both are tested with the same tests).

Nothing is written into the package: builds live where the caller says (by default the state
root's ``compiled/``), and are loaded through a meta-path finder instead of sitting beside the
``.py`` files, where Python would prefer them whatever their age.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

COMPILED_ENV = "LBDEMO_COMPILED"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "lbdemo-compiled/1"

PACKAGE = "lbdemo.balancer"
# What runs per request, and what it calls there. Other modules (server, admin, health,
# discovery, config) run per connection or per second and stay interpreted.
HOT_MODULES = (
    "chunks",
    "client",
    "context",
    "exchange",
    "flow",
    "heads",
    "http",
    "metrics",
    "pool",
    "refused",
    "strategy",
    "upstream",
)


def package_dir() -> Path:
    return Path(__file__).resolve().parent


def hot_module_names() -> list[str]:
    return [f"{PACKAGE}.{name}" for name in HOT_MODULES]


def hot_sources(directory: Path | None = None) -> list[Path]:
    """The hot modules' files in ``directory`` (a copy of this package's), else in this one."""
    base = directory or package_dir()
    return [base / f"{name}.py" for name in HOT_MODULES]


def source_digest(compiler_version: str, directory: Path | None = None) -> str:
    """A name for a build of today's sources by this compiler for this interpreter.

    Every ``.py`` of the package counts, not only the compiled ones: the compiled modules bind
    to the others' classes and constants when they are built.
    """
    h = hashlib.sha256()
    h.update(f"{MANIFEST_FORMAT}\0{sys.implementation.cache_tag}\0".encode())
    h.update(f"{importlib.machinery.EXTENSION_SUFFIXES[0]}\0{compiler_version}\0".encode())
    for path in sorted((directory or package_dir()).glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:20]


def compiler_version() -> str | None:
    """mypyc's version (it ships with mypy), or None when it is not installed."""
    if importlib.util.find_spec("mypyc") is None:
        return None
    from mypy.version import __version__

    return str(__version__)


class _BuildFinder(importlib.abc.MetaPathFinder):
    """Serves the hot modules (and mypyc's shared library for them) from one build."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


_active: Path | None = None  # the build the hot modules were loaded from, once they were


def data_path_kind() -> str:
    """``"compiled"`` or ``"interpreted"``: what the ready line and the bench report say."""
    module = sys.modules.get(f"{PACKAGE}.client")
    if module is not None and not str(getattr(module, "__file__", "")).endswith(".py"):
        return "compiled"
    return "interpreted"


def find_build(root: Path) -> Path | None:
    """The build under ``root`` made from today's sources by today's compiler, if any."""
    version = compiler_version()
    if version is None:
        return None
    build = root / source_digest(version)
    try:
        manifest = json.loads((build / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return None
    files = manifest.get("files")
    if not isinstance(files, dict) or set(hot_module_names()) - set(files):
        return None
    return build


def _check_owner(path: Path) -> None:
    """Loading a file runs its code: it and its directories must be ours (or root's) and not
    writable by anybody else, as ssh asks of its keys. A build in a shared /tmp named by
    ``$LBDEMO_COMPILED`` could otherwise be swapped by another user between compile and load."""
    st = path.stat()
    if st.st_uid not in (os.geteuid(), 0):
        raise ValueError(f"{path} belongs to another user (uid {st.st_uid})")
    if st.st_mode & 0o022:
        raise ValueError(f"{path} is writable by others (mode {st.st_mode & 0o777:o})")


def _manifest_files(build: Path) -> dict[str, Path]:
    root = build.resolve()
    _check_owner(root.parent)
    _check_owner(root)
    _check_owner(root / MANIFEST)
    manifest = json.loads((root / MANIFEST).read_text())
    files: dict[str, Path] = {}
    for module, relative in manifest["files"].items():
        path = (root / relative).resolve()
        if root not in path.parents:  # a manifest names files of its build only
            raise ValueError(f"{module} points outside {build}")
        for directory in path.parents:
            if directory == root:
                break
            _check_owner(directory)
        _check_owner(path)
        files[str(module)] = path
    return files


def activate(root: Path) -> Path | None:
    """Load the hot modules from the matching build under ``root``; None when not possible.

    Only before any hot module is imported: a compiled ``client`` beside an interpreted
    ``exchange`` would meet objects it was not compiled for.
    """
    global _active
    if _active is not None:
        return _active
    loaded = [name for name in hot_module_names() if name in sys.modules]
    if loaded:
        log.warning("compiled data path not loaded: %s already imported", loaded[0])
        return None
    build = find_build(root)
    if build is None:
        log.warning(
            "no compiled data path for these sources in %s: running interpreted "
            "(make one with: lbdemo compile)",
            root,
        )
        return None
    try:
        files = _manifest_files(build)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("compiled data path in %s not usable (%s): running interpreted", build, exc)
        return None
    finder = _BuildFinder(files)
    sys.meta_path.insert(0, finder)
    try:
        for name in hot_module_names():
            importlib.import_module(name)
    except ImportError as exc:
        # A damaged build, or one for another machine copied in: the interpreted path runs.
        sys.meta_path.remove(finder)
        for name in [*hot_module_names(), *files]:
            sys.modules.pop(name, None)
        log.warning("compiled data path in %s failed to load (%s): running interpreted", build, exc)
        return None
    _active = build
    return build


def activate_from_environment() -> Path | None:
    """:func:`activate` on ``$LBDEMO_COMPILED`` when it is set (to a directory of builds)."""
    root = os.environ.get(COMPILED_ENV)
    if not root:
        return None
    path = Path(root).expanduser()
    if not path.is_absolute():
        # Children inherit the variable but not always the directory it was typed in: a
        # relative value would load the build in some processes and not in others.
        log.warning("%s must be an absolute path, not %r: running interpreted", COMPILED_ENV, root)
        return None
    return activate(path)
