"""The project's image, built from its own Dockerfile on the engine at hand, with no registry.

:func:`ensure_image` returns the tag of the image for this source tree, building it only when the
engine does not have it. The tag names the project's version and a hash of everything the build
reads (the Dockerfile, pyproject.toml, the package with its Locust workload, the base image's id),
so a source change makes a new tag and an unchanged tree reuses the image.

The build context is assembled under ``<state>/cache/docker-context/``: the source files and a
``wheelhouse/`` of every dependency, fetched by the host's pip (``pip download``, for the image's
Python 3.11), so the Dockerfile installs with ``--no-index``. The wheelhouse is kept under
``<state>/cache/wheelhouse/`` and reused while the dependency list is unchanged. The engine's
output is kept in ``<state>/cache/docker-build.log``.

Base image: ``--base``, else ``$LBDEMO_IMAGE_BASE``, else ``python:3.11-slim`` if the engine has
it, else ``lbdemo/base:bookworm`` (``scripts/build-base-image``) if it has that; else an error
saying how to make one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lbdemo
from lbdemo.config import image_base_from_env
from lbdemo.errors import StateError, UsageError

if TYPE_CHECKING:
    from docker import DockerClient

REPOSITORY = "lbdemo/app"
REGISTRY_BASE = "python:3.11-slim"
LOCAL_BASE = "lbdemo/base:bookworm"
# Both bases carry CPython 3.11: the wheelhouse is fetched for it, whatever the host runs.
IMAGE_PYTHON = "3.11"
# pip evaluates environment markers with the host's interpreter, whatever --python-version says:
# a dependency that only older 3.11 releases need is not fetched from a newer host, and the
# image's pip (--no-index) then cannot install. redis needs async-timeout before 3.11.3, and
# the local base (Debian bookworm) carries 3.11.2. Fetched by name; unused where not needed.
IMAGE_ONLY_WHEELS = ("async-timeout>=4.0.3",)

# What the Dockerfile reads from the context, besides wheelhouse/.
CONTEXT_FILES = ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md")
# The package holds the Locust workload too (lbdemo/load/locustfile.py).
CONTEXT_DIRS = ("lbdemo",)
SKIPPED_PARTS = ("__pycache__",)
SKIPPED_SUFFIXES = (".pyc", ".pyo")

CACHE = "cache"
CONTEXT_DIR = "docker-context"
WHEELHOUSE_DIR = "wheelhouse"
WHEELHOUSE_STAMP = ".requirements"
BUILD_LOG = "docker-build.log"
# A build streams its output, but one quiet step (pip installing every wheel) may take minutes.
BUILD_TIMEOUT_S = 1800
LABEL_HASH = "lbdemo.content-hash"
LABEL_BASE = "lbdemo.base"

Progress = Callable[[str], None]


class ImageBuildError(StateError):
    """The image could not be built; the message's last words name the full log."""


def source_root() -> Path:
    """The checkout the package runs from: where the Dockerfile is."""
    root = Path(lbdemo.__file__).resolve().parent.parent
    if not (root / "Dockerfile").is_file():
        raise StateError(
            f"no Dockerfile in {root}: build the image from a source checkout (pip install -e .)"
        )
    return root


def source_files(root: Path) -> list[Path]:
    """Every file of the build context but the wheelhouse, relative to ``root``, sorted."""
    files = [Path(name) for name in CONTEXT_FILES if (root / name).is_file()]
    for directory in CONTEXT_DIRS:
        for path in (root / directory).rglob("*"):
            relative = path.relative_to(root)
            skipped = any(
                part in SKIPPED_PARTS or part.endswith(".egg-info") for part in relative.parts
            )
            if path.is_file() and not skipped and path.suffix not in SKIPPED_SUFFIXES:
                files.append(relative)
    return sorted(files)


def content_hash(root: Path, files: list[Path], base_id: str) -> str:
    """What the build reads, hashed: each file's path and bytes, and the base image's id."""
    digest = hashlib.sha256(f"base {base_id}\n".encode())
    for relative in files:
        digest.update(f"{relative.as_posix()}\n".encode())
        digest.update(hashlib.sha256((root / relative).read_bytes()).digest())
    return digest.hexdigest()


def requirements(root: Path) -> list[str]:
    """What the image installs: the build system's requirements and the dependencies, read as
    the Dockerfile reads them."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return [*project["build-system"]["requires"], *project["project"]["dependencies"]]


def choose_base(client: DockerClient, base: str | None = None) -> str:
    """The base image: the one asked for (pulled by the build if need be), else a local one."""
    chosen = base or image_base_from_env()
    if chosen:
        if not chosen.strip() or any(char.isspace() for char in chosen):
            raise UsageError(f"invalid base image name {chosen!r}")
        return chosen
    for candidate in (REGISTRY_BASE, LOCAL_BASE):
        if _image_id(client, candidate) is not None:
            return candidate
    raise StateError(
        f"no base image: the engine has neither {REGISTRY_BASE} nor {LOCAL_BASE}; "
        f"run scripts/build-base-image (or give --base IMAGE)"
    )


def image_tag(client: DockerClient, base: str, root: Path | None = None) -> str:
    """The tag this source tree's image has on ``base``."""
    root = root or source_root()
    digest = content_hash(root, source_files(root), _image_id(client, base) or base)
    return f"{REPOSITORY}:{lbdemo.__version__}-{digest[:12]}"


def ensure_image(
    client: DockerClient,
    state_root: Path,
    *,
    base: str | None = None,
    progress: Progress | None = None,
    no_cache: bool = False,
) -> str:
    """The tag of this source tree's image, built first if the engine lacks it.

    ``no_cache``: build it again, every layer (``docker build --no-cache``), even if it exists.
    """
    say = progress or (lambda _line: None)
    root = source_root()
    base = choose_base(client, base)
    tag = image_tag(client, base, root)
    if not no_cache and _image_id(client, tag) is not None:
        return tag
    cache = state_root / CACHE
    cache.mkdir(parents=True, exist_ok=True)
    # One build per state root at a time: two would share one context directory.
    with _locked(cache / f"{CONTEXT_DIR}.lock"):
        if not no_cache and _image_id(client, tag) is not None:  # built while we waited
            return tag
        needed = [*requirements(root), *IMAGE_ONLY_WHEELS]
        wheels = ensure_wheelhouse(cache / WHEELHOUSE_DIR, needed, say)
        context = _assemble_context(root, cache / CONTEXT_DIR, wheels)
        log_path = cache / BUILD_LOG
        say(f"building {tag} on {base} (log: {log_path})")
        _build(client, context, tag, base, log_path, say, no_cache=no_cache)
    return tag


def ensure_wheelhouse(wheelhouse: Path, needed: list[str], say: Progress) -> Path:
    """A directory of wheels for ``needed`` and all they depend on, for CPython 3.11 on this
    machine's platform; reused while its list is the same."""
    stamp = "\n".join([f"python {IMAGE_PYTHON}", *needed]) + "\n"
    with contextlib.suppress(OSError):
        if (wheelhouse / WHEELHOUSE_STAMP).read_text() == stamp:
            return wheelhouse
    partial = wheelhouse.with_name(f"{wheelhouse.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    say(f"fetching wheels for {len(needed)} requirements with pip into {wheelhouse}")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--dest",
        str(partial),
        # Wheels only, for the image's interpreter rather than the host's: nothing is compiled
        # in the image, and a host on another Python still fetches the right files.
        "--only-binary=:all:",
        "--python-version",
        IMAGE_PYTHON,
        *needed,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()] or lines
        raise ImageBuildError(f"pip could not fetch the image's wheels: {' | '.join(errors[-2:])}")
    (partial / WHEELHOUSE_STAMP).write_text(stamp)
    shutil.rmtree(wheelhouse, ignore_errors=True)
    partial.rename(wheelhouse)
    return wheelhouse


def _assemble_context(root: Path, context: Path, wheels: Path) -> Path:
    """A fresh build context: the source files, and the wheels (hard links where possible)."""
    shutil.rmtree(context, ignore_errors=True)
    for relative in source_files(root):
        target = context / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, target)
    shutil.copytree(
        wheels,
        context / WHEELHOUSE_DIR,
        copy_function=_link_or_copy,
        ignore=shutil.ignore_patterns(WHEELHOUSE_STAMP),
    )
    return context


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _build(
    client: DockerClient,
    context: Path,
    tag: str,
    base: str,
    log_path: Path,
    say: Progress,
    *,
    no_cache: bool,
) -> None:
    """Build through the Engine API, streaming its output into the log; raise on its error."""
    from docker.errors import DockerException

    error: str | None = None
    with log_path.open("w", encoding="utf-8") as log:
        try:
            chunks = client.api.build(
                path=str(context),
                tag=tag,
                buildargs={"BASE": base},
                labels={LABEL_HASH: tag.rsplit("-", 1)[-1], LABEL_BASE: base},
                rm=True,
                forcerm=True,
                nocache=no_cache,
                decode=True,
                timeout=BUILD_TIMEOUT_S,
            )
            for chunk in chunks:
                error = _record(chunk, log, say) or error
        except DockerException as exc:
            error = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            log.write(f"{error}\n")
    if error is None and _image_id(client, tag) is None:
        error = "the engine reported no error but has no image"
    if error is not None:
        raise ImageBuildError(f"building {tag} on {base} failed: {error} (see {log_path})")


def _record(chunk: dict[str, Any], log: Any, say: Progress) -> str | None:
    """One decoded line of the engine's build stream: logged; a step announced; its error
    returned."""
    text = chunk.get("stream") or chunk.get("status") or ""
    if text:
        log.write(text if text.endswith("\n") else f"{text}\n")
        if text.startswith("Step "):
            say(text.strip())
    if "error" in chunk:
        message = str(chunk.get("error", "")).strip()
        log.write(f"ERROR: {message}\n")
        return message.splitlines()[0] if message else "the build failed"
    return None


def _image_id(client: DockerClient, name: str) -> str | None:
    from docker.errors import APIError, ImageNotFound

    try:
        return str(client.images.get(name).id)
    except ImageNotFound:
        return None
    except APIError as exc:
        reason = exc.explanation or str(exc)
        if exc.status_code == 400:  # the engine's word for a malformed reference
            raise UsageError(f"invalid image name {name!r}: {reason}") from None
        raise StateError(f"the Docker engine could not look up {name!r}: {reason}") from None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
