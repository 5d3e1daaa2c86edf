"""How Docker's CLI prints things: sizes, durations, tables, statuses and error lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from lbdemo.containers.containers import Container, parse_time
from lbdemo.containers.errors import DaemonError, NoSuchImageError
from lbdemo.containers.format import Context, TemplateError, compile_format, render_inspect
from lbdemo.containers.images import Image
from lbdemo.containers.volumes import Volume
from lbdemo.errors import LbdemoError, StateError

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def human_size(size: float) -> str:
    """go-units ``HumanSize``: decimal units, 4 significant digits, no space (``36B``)."""
    unit = 0
    while size >= 1000 and unit < len(_DECIMAL_UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.4g}{_DECIMAL_UNITS[unit]}"


def human_duration(seconds: float) -> str:
    """go-units ``HumanDuration``, the words of ``Up 3 minutes`` and ``2 hours ago``."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds // 3600) // 24 // 365} years"


def _since(text: str, now: datetime) -> float:
    when = parse_time(text)
    return (now - when).total_seconds() if when else 0.0


def created_text(created: str, now: datetime | None = None) -> str:
    return f"{human_duration(_since(created, now or datetime.now(UTC)))} ago"


def status_text(container: Container, now: datetime | None = None) -> str:
    """``docker ps``'s STATUS column."""
    now = now or datetime.now(UTC)
    if container.status == "running":
        return f"Up {human_duration(_since(container.started_at, now))}"
    if container.status == "exited":
        ago = human_duration(_since(container.finished_at, now))
        return f"Exited ({container.exit_code}) {ago} ago"
    return "Created"


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Docker's tabwriter (min width 10, padding 3); the last column is not padded."""
    all_rows = [list(header), *[list(r) for r in rows]]
    widths = [max(10, max(len(r[i]) for r in all_rows) + 3) for i in range(len(header) - 1)]
    lines = []
    for row in all_rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append(("".join(cells) + row[-1]).rstrip())
    return "\n".join(lines)


def json_array(items: Sequence[Any]) -> str:
    """``docker inspect``'s output: a JSON array indented by four spaces."""
    return json.dumps(list(items), indent=4)


def print_volume_inspect(
    fmt: str | None, names: Sequence[str], find: Callable[[str], dict[str, Any] | None]
) -> int:
    """``docker volume inspect [-f FORMAT] NAME...``, whoever keeps the volumes: ``find`` gives
    a volume's inspect object, or None when there is no such volume (one error line each, exit
    status 1, the others still shown). A bad template is refused before anything is looked up."""
    template = None
    if fmt not in (None, "", "json"):
        try:
            template = compile_format(fmt)
        except TemplateError as exc:
            raise TemplateError(f"template parsing error: {exc}") from None
    found, status = [], 0
    for name in names:
        obj = find(name)
        if obj is None:
            print(f"Error: No such volume: {name}", file=sys.stderr)
            status = 1
        else:
            found.append(obj)
    if template is None:
        print(json_array(found))
    else:
        for obj in found:
            print(render_inspect(template, obj))
    return status


def error_line(exc: LbdemoError) -> str:
    """The line Docker's CLI prints for an error the engine returned."""
    if isinstance(exc, NoSuchImageError):
        return str(exc)  # Docker's CLI says this itself, before it would try to pull
    if isinstance(exc, DaemonError | StateError):
        return f"Error response from daemon: {exc}"
    return str(exc)


# -- ``--format`` contexts: the fields Docker's formatters offer, and their column names --------


def _labels_text(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _header(names: dict[str, str], type_name: str) -> Context:
    fields: dict[str, Any] = dict(names)
    fields["Label"] = lambda _key: "LABEL"
    return Context(fields, type_name)


PS_TYPE = "*formatter.ContainerContext"
PS_HEADER = _header(
    {
        "ID": "CONTAINER ID",
        "Image": "IMAGE",
        "Command": "COMMAND",
        "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED",
        "Ports": "PORTS",
        "State": "STATE",
        "Status": "STATUS",
        "Size": "SIZE",
        "Names": "NAMES",
        "Labels": "LABELS",
        "Mounts": "MOUNTS",
        "Networks": "NETWORKS",
        "LocalVolumes": "LOCAL VOLUMES",
    },
    PS_TYPE,
)


def go_time(text: str) -> str:
    """Go's ``time.Time`` as Docker's ``CreatedAt`` column prints it."""
    when = parse_time(text)
    return when.strftime("%Y-%m-%d %H:%M:%S +0000 UTC") if when else ""


def ps_context(container: Container, now: datetime, trunc: bool = True) -> Context:
    command = " ".join(container.cmd)
    mounts = [m.name if m.type == "volume" else m.source for m in container.mounts]
    return Context(
        {
            "ID": container.short_id if trunc else container.id,
            "Image": container.image,
            "Command": f'"{ellipsis(command, 20) if trunc else command}"',
            "CreatedAt": go_time(container.created),
            "RunningFor": created_text(container.created, now),
            "Ports": ", ".join(container.ports),
            "State": container.status,
            "Status": status_text(container, now),
            "Size": "0B",
            "Names": container.name,
            "Labels": _labels_text(container.labels),
            "Label": lambda key: container.labels.get(key, ""),
            "Mounts": ",".join(ellipsis(m, 15) if trunc else m for m in mounts),
            "Networks": "",
            "LocalVolumes": str(sum(1 for m in container.mounts if m.type == "volume")),
        },
        PS_TYPE,
    )


VOLUME_TYPE = "*formatter.volumeContext"
VOLUME_HEADER = _header(
    {
        "Name": "VOLUME NAME",
        "Driver": "DRIVER",
        "Scope": "SCOPE",
        "Mountpoint": "MOUNTPOINT",
        "Labels": "LABELS",
        "Links": "LINKS",
        "Size": "SIZE",
    },
    VOLUME_TYPE,
)


def volume_context(volume: Volume) -> Context:
    labels = dict(volume.labels or {})
    return Context(
        {
            "Name": volume.name,
            "Driver": "local",
            "Scope": "local",
            "Mountpoint": str(volume.mountpoint),
            "Labels": _labels_text(labels),
            "Label": lambda key: labels.get(key, ""),
            "Links": "N/A",
            "Size": "N/A",
        },
        VOLUME_TYPE,
    )


IMAGE_TYPE = "*formatter.imageContext"
IMAGE_HEADER = _header(
    {
        "ID": "IMAGE ID",
        "Repository": "REPOSITORY",
        "Tag": "TAG",
        "Digest": "DIGEST",
        "CreatedSince": "CREATED",
        "CreatedAt": "CREATED AT",
        "Size": "SIZE",
        "Containers": "CONTAINERS",
    },
    IMAGE_TYPE,
)


def image_context(
    repository: str, tag: str, image: Image, now: datetime, trunc: bool = True
) -> Context:
    return Context(
        {
            "ID": image.short_id if trunc else image.id,
            "Repository": repository,
            "Tag": tag,
            "Digest": "<none>",
            "CreatedSince": created_text(image.created, now),
            "CreatedAt": go_time(image.created),
            "Size": "N/A",
            "Containers": "N/A",
        },
        IMAGE_TYPE,
    )
