"""The replica's configuration, read from the container's ``/etc/catalog/catalog.conf``.

The catalog image ships that file (see :mod:`lbdemo.containers.images`); the runtime resolves
``/etc/catalog`` through the container's filesystem (its layer, or a volume or bind mount there)
and passes the host directory as ``--config-dir``. So what a replica answers follows the file a
learner can open: patched in the layer with ``lbdemo cp`` (gone with the container), or edited
on the host under ``-v $PWD/config:/etc/catalog:ro`` (survives any replacement).

The file is read at start and again on SIGHUP (``lbdemo kill -s HUP CONTAINER``), as nginx
reloads. A file that cannot be read or parsed stops a start (the container exits, its reason in
``lbdemo logs``); on a reload it is reported and the running configuration is kept.

Format: ``key = value`` lines, ``#`` comments. Keys:

* ``currency``: three capital letters, added to product answers as ``"currency"``; empty: none;
* ``banner``: up to 200 printable characters, sent as the ``X-Catalog-Banner`` header of every
  response; empty: none.

A key the file does not set keeps the image's default (``lbdemo/catalog:1.1`` and later answer
in ``KRW``), so an empty bind-mounted directory behaves like the image.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path

from lbdemo.errors import UsageError

CONFIG_FILE = "catalog.conf"
LOG_FILE = "catalog.log"
BANNER_HEADER = "X-Catalog-Banner"
MAX_BANNER = 200
_CURRENCY = re.compile(r"[A-Z]{3}")
_LINE = re.compile(r"([a-z_]+)\s*=\s*(.*)")

log = logging.getLogger("lbdemo.replica.config")


class ConfigError(UsageError):
    """A configuration file the replica cannot use; the message names the file and line."""


@dataclass(frozen=True)
class CatalogConfig:
    currency: str = ""
    banner: str = ""

    def describe(self) -> str:
        return f"currency={self.currency or '-'} banner={self.banner or '-'}"


@functools.lru_cache(maxsize=16)
def image_defaults(image: str) -> CatalogConfig:
    """What a replica of ``image`` answers with no configuration file: 1.1 adds KRW."""
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "1.0"
    try:
        version = tuple(int(part) for part in tag.split("."))
    except ValueError:
        version = (1, 0)
    return CatalogConfig(currency="KRW" if version >= (1, 1) else "")


def parse(text: str, base: CatalogConfig, source: str = CONFIG_FILE) -> CatalogConfig:
    """``base`` with the keys ``text`` sets; ConfigError names the first bad line."""
    config = base
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        where = f"{source}:{number}"
        if match is None:
            raise ConfigError(f"{where}: expected 'key = value', got {line!r}")
        key, value = match[1], match[2].strip()
        if key == "currency":
            if value and not _CURRENCY.fullmatch(value):
                raise ConfigError(f"{where}: currency must be three capital letters, got {value!r}")
            config = replace(config, currency=value)
        elif key == "banner":
            if len(value) > MAX_BANNER or not value.isprintable():
                raise ConfigError(
                    f"{where}: banner must be at most {MAX_BANNER} printable characters"
                )
            config = replace(config, banner=value)
        else:
            raise ConfigError(f"{where}: unknown key {key!r} (known: currency, banner)")
    return config


def load(config_dir: Path | None, image: str) -> CatalogConfig:
    """The configuration in ``config_dir`` over the image's defaults (no dir, no file: those)."""
    base = image_defaults(image)
    if config_dir is None:
        return base
    path = config_dir / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return base
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    return parse(text, base, str(path))


class CatalogConfigSource:
    """The configuration a running replica answers with; ``reload()`` on SIGHUP."""

    def __init__(self, config_dir: Path | None, image: str) -> None:
        self.config_dir = config_dir
        self.image = image
        self.current = load(config_dir, image)

    def reload(self) -> bool:
        """Read the file again; keep the running configuration if it is unusable."""
        try:
            new = load(self.config_dir, self.image)
        except ConfigError as exc:
            log.error("reload failed, keeping %s: %s", self.current.describe(), exc)
            return False
        log.info("reloaded %s: %s", self.config_dir, new.describe())
        self.current = new
        return True
