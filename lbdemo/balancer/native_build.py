"""Build the compiled data path (:mod:`lbdemo.balancer.native`) with mypyc: ``lbdemo compile``.

mypyc compiles the hot modules from their typed source, unchanged; the build runs in a child
process (setuptools' ``setup()`` and mypy's type check stay out of the caller) inside a
temporary directory under the destination, and the finished build is renamed into place in one
step, so a reader sees a whole build or none, and two builds at once cannot mix their files.
Run as ``python -m lbdemo.balancer.native_build OUT`` it is that child.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from lbdemo.balancer.native import (
    COMPILED_ENV,
    MANIFEST,
    MANIFEST_FORMAT,
    compiler_version,
    find_build,
    hot_module_names,
    hot_sources,
    package_dir,
    source_digest,
)
from lbdemo.errors import ProcessError, UsageError

BUILD_LOG = "last-build.log"


def missing_build_tool() -> str | None:
    """Why a build cannot be made here (one line), or None when it can."""
    if compiler_version() is None:
        return "mypyc is not installed (pip install 'lbdemo[compiled]')"
    if importlib.util.find_spec("setuptools") is None:
        return "setuptools is not installed (pip install 'lbdemo[compiled]')"
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        return f"no C compiler ({cc} is not on PATH)"
    include = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not include.exists():
        return f"the Python headers are missing ({include})"
    return None


def build(root: Path, timeout: float = 900.0) -> Path:
    """The build of today's sources under ``root``, compiled now unless it exists already."""
    existing = find_build(root)
    if existing is not None:
        return existing
    why = missing_build_tool()
    if why is not None:
        raise UsageError(f"cannot compile the balancer: {why}")
    version = compiler_version()
    assert version is not None
    # The loader refuses builds others can write to (native._check_owner), whatever the umask.
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".build-") as tmp:
        out = Path(tmp) / "out"
        # mypyc compiles a copy: the build is named after exactly what it compiled (an edit
        # during the build cannot give it a wrong name), and mypy never takes an installed
        # package's site-packages for a source root (where mypy_extensions.py "shadows" itself).
        copy = _copy_package(Path(tmp) / "src")
        final = root / source_digest(version, copy / "balancer")
        log_path = root / BUILD_LOG
        with log_path.open("wb") as log:
            try:
                done = subprocess.run(
                    [sys.executable, "-m", "lbdemo.balancer.native_build", str(out), str(copy)],
                    cwd=tmp,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    # The child compiles the sources; it must not load an older build itself.
                    env={k: v for k, v in os.environ.items() if k != COMPILED_ENV},
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise ProcessError(f"mypyc did not finish in {timeout:.0f} s") from exc
        if done.returncode != 0:
            raise ProcessError(f"mypyc failed (exit {done.returncode}): see {log_path}")
        _write_manifest(out, version)
        for path in [out, *out.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o022)
        try:
            out.rename(final)
        except OSError:
            if find_build(root) is None:  # not a concurrent build that finished first
                raise
    built = find_build(root)
    if built is None:
        raise ProcessError(f"mypyc made no usable build in {final}")
    return built


def _write_manifest(out: Path, version: str) -> None:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    files: dict[str, str] = {}
    for path in sorted(out.rglob(f"*{suffix}")):
        relative = path.relative_to(out)
        module = ".".join([*relative.parts[:-1], relative.name.removesuffix(suffix)])
        files[module] = relative.as_posix()
    missing = set(hot_module_names()) - set(files)
    if missing:
        raise ProcessError(f"mypyc built no {sorted(missing)[0]}")
    manifest = {"format": MANIFEST_FORMAT, "mypyc": version, "files": files}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _copy_package(into: Path) -> Path:
    """This lbdemo package's Python files under ``into``; returns the copy's ``lbdemo/``."""
    package = package_dir().parent
    copy = into / package.name
    shutil.copytree(
        package,
        copy,
        ignore=lambda folder, names: (
            [n for n in names if not (n.endswith(".py") or (Path(folder) / n).is_dir())]
            + ["__pycache__"]
        ),
    )
    return copy


def _compile_into(out: Path, package: Path) -> None:
    """In the child: compile the hot modules of the copy ``package`` (``.../lbdemo``) into
    ``out``; the working directory is a scratch directory."""
    from mypyc.build import mypycify
    from setuptools import setup

    sources = [str(path) for path in hot_sources(package / "balancer")]
    setup(
        name="lbdemo-compiled",
        ext_modules=mypycify(["--ignore-missing-imports", *sources], opt_level="3"),
        script_args=["build_ext", "--build-lib", str(out), "--build-temp", "tmp"],
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m lbdemo.balancer.native_build OUT LBDEMO_COPY")
    _compile_into(Path(sys.argv[1]), Path(sys.argv[2]))
