"""Virtual environments with lbdemo installed as a user installs it: from a wheel, not editable.

Making one (a new interpreter, every dependency) takes a minute or more, so each is kept under
``~/.cache/lbdemo-tests/venvs/`` (as root ``/var/cache/lbdemo-tests/venvs/``: PostgreSQL then
runs as another user, who must traverse to the binaries, and lbdemo would open ``/root`` for
that; ``$LBDEMO_TEST_CACHE`` instead of either, if set), keyed by the Python
version and a hash of ``pyproject.toml``: the dependencies change only with that file, and this
directory outlives a fresh clone on the same machine (CI clones afresh). What changes with every
commit, the package itself, is built into a wheel per session and reinstalled (``--no-deps``,
seconds). Another key's environment of the same Python is removed when a new one is made.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 900


def cache_root() -> Path:
    configured = os.environ.get("LBDEMO_TEST_CACHE")
    if configured:
        return Path(configured) / "venvs"
    if os.geteuid() == 0:
        base = Path("/var/cache/lbdemo-tests")
        base.mkdir(mode=0o755, parents=True, exist_ok=True)
        return base / "venvs"
    return Path.home() / ".cache" / "lbdemo-tests" / "venvs"


@functools.cache
def other_pythons(current: str) -> dict[str, Path]:
    """Interpreters of other minor versions than ``current`` (``3.11``): pyenv's, by version."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found: dict[str, Path] = {}
    for candidate in sorted(pyenv_root.glob("versions/3.*/bin/python3.*")):
        minor = candidate.name.removeprefix("python")
        if minor != current and minor.count(".") == 1 and minor not in found:
            found[minor] = candidate
    for minor in ("3.12", "3.13", "3.14"):
        if minor != current and minor not in found and (path := shutil.which(f"python{minor}")):
            found[minor] = Path(path)
    return {minor: path for minor, path in found.items() if _runs(path, minor)}


def _runs(python: Path, minor: str) -> bool:
    """A pyenv shim answers even when it has no such version: ask the interpreter itself."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            [str(python), "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return done.returncode == 0 and done.stdout.strip() == minor
    return False


def _requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [*project["build-system"]["requires"], *project["project"]["dependencies"]]


def venv_key(minor: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    return f"py{minor}-{digest}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One maker of a cached environment at a time (pytest's workers are processes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def cached_venv(python: Path, minor: str) -> Iterator[Path]:
    """An environment of ``python`` with lbdemo's dependencies (and its build system), held
    for the caller alone until the block ends: another session may reinstall lbdemo in it."""
    root = cache_root()
    with _locked(root / f".py{minor}.lock"):
        yield _ensure_venv(root, python, minor)


def _ensure_venv(root: Path, python: Path, minor: str) -> Path:
    venv = root / venv_key(minor)
    if (venv / "complete").is_file():
        return venv
    for stale in root.glob(f"py{minor}-*"):  # an older pyproject.toml's, or a half-made one
        shutil.rmtree(stale, ignore_errors=True)
    # Made in place (a venv's scripts name their own path, so it cannot be moved); the
    # marker written last tells a whole environment from one an interrupted run left.
    subprocess.run([str(python), "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "install", "--quiet", *_requirements()],
        check=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    (venv / "complete").write_text(f"{python}\n")
    return venv


def build_wheel(venv: Path, out_dir: Path) -> Path:
    """lbdemo's wheel, built by ``venv``'s pip from a copy of the sources (the checkout gets no
    ``build/`` of it, and concurrent builds never share one)."""
    source = out_dir / "src"
    shutil.copytree(
        ROOT / "lbdemo",
        source / "lbdemo",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out_dir / "dist"),
            str(source),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = (out_dir / "dist").glob("lbdemo-*.whl")
    return wheel


def install_wheel(venv: Path, wheel: Path) -> Path:
    """Install (or replace) lbdemo in ``venv`` from ``wheel``; its ``lbdemo`` command."""
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--force-reinstall",
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    return venv / "bin" / "lbdemo"
