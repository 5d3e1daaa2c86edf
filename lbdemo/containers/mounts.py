"""Mount specs as Docker reads them: ``-v/--volume`` and ``--mount``, into :class:`Mount`.

The ``-v SOURCE:DEST[:MODE]`` rules (Docker on Linux, CLI 23 and later):

* ``/abs/host/path:/dest`` is a **bind mount** of that host directory;
* a source starting with ``.`` (``.``, ``./data``, ``../data``) is a bind mount of that path
  relative to the working directory (Docker's CLI resolves it since 23.0; older engines
  refused it with the invalid-characters error below);
* anything else (``data:/dest``) is a **volume name**, created on first use and checked with
  Docker's rule ``[a-zA-Z0-9][a-zA-Z0-9_.-]+``; so ``data/x:/dest`` or ``~/x:/dest`` fail with
  Docker's text ``... includes invalid characters for a local volume name ... If you intended
  to pass a host directory, use absolute path``;
* ``/dest`` alone is an **anonymous volume** (a fresh 64-hex name);
* ``MODE`` is ``ro`` or ``rw`` (plus Docker's ``z``, ``Z``, ``nocopy`` and propagation words,
  accepted and kept); the destination must be absolute and not ``/``.

Windows-style sources (``C:\\data``, ``C:/data``, ``//c/data``, any backslash) are refused with
a message that says so: on Linux Docker would split ``C:\\data:/x`` at its first colon and mount
something else entirely, the trap the storage notes warn about.

``--mount type=volume|bind,source|src=...,target|dst|destination=...[,readonly|ro[=BOOL]]``
is the explicit form; with ``--mount`` a missing bind source is an error instead of being
created (Docker's difference between the two flags).
"""

from __future__ import annotations

import csv
import os
import posixpath
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from lbdemo.containers.errors import InvalidNameError
from lbdemo.containers.names import go_quote, validate_volume_name
from lbdemo.errors import UsageError

MountType = Literal["volume", "bind"]

_MODE_WORDS = {
    "ro",
    "rw",
    "z",
    "Z",
    "nocopy",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
}
# A drive letter starts a Windows path only when another path follows (``C:/data:/x``); a
# lone ``a:/x`` is the volume name ``a``, which Docker refuses as too short.
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/][^:]*:[\\/]|:[A-Za-z]:(?:[\\/]|$)")
_TRUE = {"", "1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


@dataclass(frozen=True)
class Mount:
    """One mount of a container, the shape of an entry in ``docker inspect``'s ``Mounts``.

    For a volume, ``name`` is empty until the container is created (anonymous volumes get
    their name then) and ``source`` is the volume's ``Mountpoint``; for a bind, ``source`` is
    the host directory the user named.
    """

    type: MountType
    destination: str
    name: str = ""
    source: str = ""
    rw: bool = True
    mode: str = ""
    spec: str | None = None  # the ``-v`` text, kept for HostConfig.Binds
    create_source: bool = False  # ``-v`` creates a missing bind source; ``--mount`` refuses

    def to_docker(self) -> dict[str, Any]:
        if self.type == "bind":
            return {
                "Type": "bind",
                "Source": self.source,
                "Destination": self.destination,
                "Mode": self.mode,
                "RW": self.rw,
                "Propagation": "rprivate",
            }
        return {
            "Type": "volume",
            "Name": self.name,
            "Source": self.source,
            "Destination": self.destination,
            "Driver": "local",
            "Mode": self.mode,
            "RW": self.rw,
            "Propagation": "",
        }

    def to_record(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "destination": self.destination,
            "name": self.name,
            "source": self.source,
            "rw": self.rw,
            "mode": self.mode,
            "spec": self.spec,
            "create_source": self.create_source,
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Mount:
        if data.get("type") not in ("volume", "bind"):
            raise UsageError(f"unknown mount type in record: {data.get('type')!r}")
        return cls(
            type=data["type"],
            destination=str(data["destination"]),
            name=str(data.get("name", "")),
            source=str(data.get("source", "")),
            rw=bool(data.get("rw", True)),
            mode=str(data.get("mode", "")),
            spec=data.get("spec"),
            create_source=bool(data.get("create_source", False)),
        )

    def with_volume(self, name: str, mountpoint: Path) -> Mount:
        return replace(self, name=name, source=str(mountpoint))


def _one_line(message: str) -> str:
    """A message quoting user text stays one line: control characters (a newline in a spec)
    are shown escaped, as Go's ``%q`` shows them, everything else as typed."""
    return "".join(ch if ch.isprintable() else go_quote(ch)[1:-1] for ch in message)


def _usage(message: str) -> UsageError:
    return UsageError(_one_line(message))


def _invalid_spec(spec: str, detail: str = "") -> InvalidNameError:
    suffix = f": {detail}" if detail else ""
    return InvalidNameError(_one_line(f"invalid volume specification: '{spec}'{suffix}"))


def _reject_windows(spec: str, flag_spec: str) -> None:
    if "\\" in spec or spec.startswith("//") or _WINDOWS_DRIVE.search(spec):
        raise _invalid_spec(
            flag_spec,
            "this looks like a Windows path; lbdemo mounts Linux-style paths only: give an "
            "absolute POSIX host path (/home/me/data) or a volume name (data)",
        )


def _destination(raw: str, spec: str, mount_type: str) -> str:
    if not raw.startswith("/"):
        raise _invalid_spec(
            spec,
            f'invalid mount config for type "{mount_type}": invalid mount path: '
            f"'{raw}' mount path must be absolute",
        )
    # A container path is resolved against the container's root: "/a/../b" is "/b".
    cleaned = posixpath.normpath("/" + raw.lstrip("/"))
    if cleaned == "/":
        raise _invalid_spec(
            spec,
            f'invalid mount config for type "{mount_type}": invalid specification: '
            "destination can't be '/'",
        )
    return cleaned


def _mode(mode: str) -> bool:
    """Whether ``mode`` is valid; returns rw (False for ``ro``). Raises on a bad mode."""
    words = mode.split(",") if mode else []
    if any(w not in _MODE_WORDS for w in words) or ("ro" in words and "rw" in words):
        raise InvalidNameError(_one_line(f"invalid mode: {mode}"))
    return "ro" not in words


def _is_mode(text: str) -> bool:
    return bool(text) and all(w in _MODE_WORDS for w in text.split(","))


def _host_path(raw: str, cwd: Path | None) -> str:
    if raw.startswith("/"):
        return posixpath.normpath(raw) if raw != "/" else "/"
    return os.path.normpath(os.path.join(cwd or Path.cwd(), raw))


def parse_volume_spec(spec: str, cwd: Path | None = None) -> Mount:
    """Parse one ``-v``/``--volume`` value (see the module docstring for the rules)."""
    if not spec:
        raise UsageError("invalid empty volume spec")
    if "\0" in spec:
        raise _invalid_spec(spec.replace("\0", "\\x00"), "NUL byte in volume spec")
    _reject_windows(spec, spec)
    parts = spec.split(":")
    if not parts[0]:
        raise _invalid_spec(spec)
    if len(parts) == 1:
        return Mount(type="volume", destination=_destination(parts[0], spec, "volume"), spec=spec)
    if len(parts) == 2:
        if _is_mode(parts[1]):
            # "/foo:rw" is a destination and a mode: Docker refuses it, volumes need a source.
            raise _invalid_spec(spec)
        source, dest, mode = parts[0], parts[1], ""
    elif len(parts) == 3:
        source, dest, mode = parts
    else:
        raise _invalid_spec(spec)
    rw = _mode(mode)
    if source.startswith("/") or source.startswith("."):
        return Mount(
            type="bind",
            destination=_destination(dest, spec, "bind"),
            source=_host_path(source, cwd),
            rw=rw,
            mode=mode,
            spec=spec,
            create_source=True,
        )
    validate_volume_name(source)
    return Mount(
        type="volume",
        destination=_destination(dest, spec, "volume"),
        name=source,
        rw=rw,
        mode=mode,
        spec=spec,
    )


def _parse_bool(key: str, value: str, spec: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _usage(f'invalid argument "{spec}" for "--mount" flag: invalid value for {key}: {value}')


def parse_mount_spec(spec: str, cwd: Path | None = None) -> Mount:
    """Parse one ``--mount`` value: comma-separated ``key=value`` fields, CSV-quoted."""
    if "\0" in spec:
        raise UsageError('invalid argument for "--mount" flag: NUL byte in mount spec')
    try:
        fields = next(csv.reader([spec]), [])
    except csv.Error as exc:
        raise _usage(f'invalid argument "{spec}" for "--mount" flag: {exc}') from exc
    mount_type, source, target, readonly = "volume", "", "", False
    for field in fields:
        key, has_value, value = field.partition("=")
        key = key.strip().lower()
        if key in ("readonly", "ro"):
            readonly = _parse_bool(key, value if has_value else "", spec)
            continue
        if key in ("volume-nocopy", "bind-propagation", "consistency"):
            continue  # accepted by Docker, no effect on what lbdemo shows
        if not has_value:
            raise _usage(
                f'invalid argument "{spec}" for "--mount" flag: invalid field \'{field}\' '
                "must be a key=value pair"
            )
        if key == "type":
            if value not in ("volume", "bind"):
                raise _usage(
                    f'invalid argument "{spec}" for "--mount" flag: lbdemo supports '
                    f"type=volume and type=bind, not type={value}"
                )
            mount_type = value
        elif key in ("source", "src"):
            source = value
        elif key in ("target", "dst", "destination"):
            target = value
        else:
            raise _usage(
                f'invalid argument "{spec}" for "--mount" flag: unexpected key \'{key}\' in '
                f"'{field}'"
            )
    if not target:
        raise _usage(f'invalid argument "{spec}" for "--mount" flag: target is required')
    _reject_windows(f"{source}:{target}", spec)
    dest = _destination(target, spec, mount_type)
    mode = "ro" if readonly else ""
    if mount_type == "bind":
        if not source:
            raise _invalid_spec(
                spec, 'invalid mount config for type "bind": field Source must not be empty'
            )
        if not (source.startswith("/") or source.startswith(".")):
            raise _invalid_spec(
                spec,
                f"invalid mount config for type \"bind\": invalid mount path: '{source}' "
                "mount path must be absolute",
            )
        return Mount(
            type="bind",
            destination=dest,
            source=_host_path(source, cwd),
            rw=not readonly,
            mode=mode,
        )
    if source:
        validate_volume_name(source)
    return Mount(type="volume", destination=dest, name=source, rw=not readonly, mode=mode)
