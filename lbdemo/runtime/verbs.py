"""The container commands on the local runtime: the records in the state root, and the daemon
that ``lbdemo up`` runs when one does (:class:`~lbdemo.deploy.verbs.Backend`).

Errors are worded as Docker words them: ``Error response from daemon: ...`` for what the daemon
refuses, the record store's own lines (:func:`~lbdemo.containers.display.error_line`) otherwise.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lbdemo.containers.containers import Container, ContainerStore
from lbdemo.containers.display import (
    created_text,
    ellipsis,
    error_line,
    ps_context,
    status_text,
    volume_context,
)
from lbdemo.containers.errors import NoSuchContainerError, NoSuchVolumeError
from lbdemo.containers.format import Context, compile_format
from lbdemo.containers.logs import follow, tail_lines
from lbdemo.containers.volumes import Volume, VolumeStore
from lbdemo.deploy.verbs import Refused, Unreachable
from lbdemo.errors import LbdemoError
from lbdemo.runtime.client import DaemonClient, DaemonRefusal, DaemonUnavailable


@dataclass(frozen=True)
class LocalContainer:
    record: Container

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def short_id(self) -> str:
        return self.record.short_id

    def ps_row(self, now: datetime, no_trunc: bool) -> list[str]:
        c = self.record
        command = " ".join(c.cmd)
        return [
            c.id if no_trunc else c.short_id,
            c.image,
            f'"{command if no_trunc else ellipsis(command, 20)}"',
            created_text(c.created, now),
            status_text(c, now),
            ", ".join(c.ports),
            c.name,
        ]

    def ps_context(self, now: datetime, trunc: bool) -> Context:
        return ps_context(self.record, now, trunc=trunc)


@dataclass(frozen=True)
class LocalVolume:
    volume: Volume
    driver = "local"

    @property
    def name(self) -> str:
        return self.volume.name

    def ls_json(self) -> str:
        labels = ",".join(f"{k}={v}" for k, v in sorted((self.volume.labels or {}).items()))
        return json.dumps(
            {
                "Availability": "N/A",
                "Driver": "local",
                "Group": "N/A",
                "Labels": labels,
                "Links": "N/A",
                "Mountpoint": str(self.volume.mountpoint),
                "Name": self.volume.name,
                "Scope": "local",
                "Size": "N/A",
                "Status": "N/A",
            }
        )

    def context(self) -> Context:
        return volume_context(self.volume)


class LocalBackend:
    """The local runtime's answers for one state root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._daemon: DaemonClient | None = None

    def _connected(self) -> DaemonClient:
        """The running daemon (``kill`` needs it); Unreachable when none runs."""
        if self._daemon is None:
            try:
                self._daemon = DaemonClient.connect(self.root)
            except DaemonUnavailable as exc:
                raise Unreachable(str(exc)) from None
        return self._daemon

    # -- containers ------------------------------------------------------------------------

    def check_ps_format(self, fmt: str | None) -> None:
        if fmt not in (None, "", "table"):
            compile_format(fmt)  # a bad template is refused before anything is read

    def containers(self, *, all: bool) -> Sequence[LocalContainer]:
        return [LocalContainer(c) for c in ContainerStore(self.root).list(all=all)]

    def check_signal(self, text: str) -> None:
        """The daemon judges the signal (and refuses a bad one in its own words)."""

    def kill(self, ref: str, signal: str) -> None:
        self._post(f"/containers/{_quote(ref)}/kill?signal={_quote(signal)}")

    def stop(self, ref: str, timeout_s: float) -> None:
        self._post(f"/containers/{_quote(ref)}/stop?t={timeout_s:g}")

    def start(self, ref: str) -> None:
        self._post(f"/containers/{_quote(ref)}/start")

    def restart(self, ref: str) -> None:
        self._post(f"/containers/{_quote(ref)}/restart")

    def upgrade(self, image: str, begin: Callable[[], None]) -> list[dict[str, Any]]:
        daemon = self._connected()
        begin()
        try:
            result = daemon.request("POST", "/upgrade", {"image": image})
        except DaemonUnavailable as exc:
            raise Unreachable(str(exc)) from None
        except DaemonRefusal as exc:
            raise Refused(f"Error response from daemon: {exc}") from None
        return list(result["replaced"])

    def _post(self, path: str) -> None:
        daemon = self._connected()
        try:
            daemon.request("POST", path, {})
        except DaemonUnavailable as exc:
            raise Unreachable(str(exc)) from None
        except DaemonRefusal as exc:
            raise Refused(f"Error response from daemon: {exc}") from None

    def remove(self, ref: str, *, force: bool, volumes: bool) -> bool:
        if self._daemon is None:
            self._daemon = DaemonClient.maybe_connect(self.root)
        if self._daemon is not None:
            # A live daemon owns the processes: it takes the container out of the rotation first.
            query = urllib.parse.urlencode({"force": int(force), "v": int(volumes)})
            try:
                self._daemon.request("DELETE", f"/containers/{_quote(ref)}?{query}")
            except DaemonRefusal as exc:
                if force and exc.status == 404:
                    return False  # docker rm -f: a container already gone is not an error
                raise Refused(f"Error response from daemon: {exc}") from None
            return True
        try:
            ContainerStore(self.root).remove(ref, force=force, volumes=volumes)
        except NoSuchContainerError as exc:
            if force:
                return False  # docker rm -f: a container already gone is not an error
            raise Refused(error_line(exc)) from None
        except LbdemoError as exc:
            raise Refused(error_line(exc)) from None
        return True

    def logs(
        self, ref: str, tail: int | None, follow_output: bool, write: Callable[[bytes], None]
    ) -> None:
        store = ContainerStore(self.root)
        try:
            container = store.get(ref)
        except NoSuchContainerError as exc:
            raise Refused(error_line(exc)) from None
        try:
            data = container.log_path.read_bytes()
        except FileNotFoundError:
            data = b""  # created, never started: no output yet
        write(tail_lines(data, tail))
        if not follow_output:
            return

        def running() -> bool:
            try:
                return store.get(container.id).running
            except NoSuchContainerError:
                return False

        follow(container.log_path, len(data), running, write)

    # -- volumes ---------------------------------------------------------------------------

    def check_volume_ls(self, fmt: str | None, filters: Sequence[str]) -> None:
        if fmt not in (None, "", "table", "json"):
            compile_format(fmt)  # a bad template is refused before anything is read

    def volumes(self, filters: Sequence[str]) -> Sequence[LocalVolume]:
        found = VolumeStore(self.root).list(list(filters))
        return [LocalVolume(v) for v in sorted(found, key=lambda v: v.name)]

    def volume_inspect(self, name: str) -> dict[str, Any] | None:
        store = VolumeStore(self.root)
        try:
            return store.get(name).inspect()
        except NoSuchVolumeError:
            return None

    def remove_volume(self, name: str, *, force: bool) -> None:
        store = VolumeStore(self.root)
        try:
            store.remove(name, force=force)
        except LbdemoError as exc:
            raise Refused(error_line(exc)) from None


def _quote(ref: str) -> str:
    return urllib.parse.quote(ref, safe="")
