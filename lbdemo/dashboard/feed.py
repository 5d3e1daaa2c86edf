"""A load run told to a dashboard in another process (``lbdemo load`` to the one ``lbdemo up``
serves), through its ``POST /api/load`` with its token.

It is a :class:`lbdemo.demo.pipeline.LiveView`, so the pipeline hands it Locust's lines as it
hands them to a dashboard in its own process. A dashboard that stops answering never stops the
load: the feed says so once and goes quiet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from lbdemo.dashboard.runs import checked_figures
from lbdemo.load.lines import PROGRESS_MARK

FEED_TIMEOUT_S = 2.0


class DashboardFeed:
    def __init__(self, url: str, token: str, run_id: str, say: Callable[[str], None]) -> None:
        self.url = url.rstrip("/")
        self.run_id = run_id
        self._say = say
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http: ClientSession | None = None
        self._pending: list[str] = []
        self._flushing: asyncio.Task[None] | None = None
        self._broken = False

    async def start(self, label: str, source: str) -> None:
        self._http = ClientSession(timeout=ClientTimeout(total=FEED_TIMEOUT_S))
        await self._post({"event": "start", "run": self.run_id, "label": label, "source": source})
        if not self._broken:
            self._say(f"shown live on the dashboard at {self.url}")

    # -- the pipeline's LiveView --------------------------------------------------------------

    async def watch(self, stack: Any) -> None:
        """Nothing to do: the dashboard watches its stack itself."""

    async def forget(self) -> None:
        """Nothing to do: the run ends with :meth:`end`, once it is checked."""

    def checked(self, report: dict[str, Any], html: Path) -> None:
        """Nothing to do: ``lbdemo load`` says the verdict with :meth:`end`."""

    def locust_line(self, line: str) -> None:
        if self._broken or not line.startswith(PROGRESS_MARK):
            return
        self._pending.append(line)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    # -- the end -----------------------------------------------------------------------------

    async def end(self, report: dict[str, Any] | None, html: Path | None = None) -> None:
        """The run's verdict (None: it did not finish), then the connection closed."""
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
        message: dict[str, Any] = {"event": "end", "run": self.run_id, "verdict": None}
        if report is not None:
            message.update(
                **checked_figures(report),
                html=str(html) if html is not None and html.is_file() else None,
            )
        await self._post(message)
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _flush(self) -> None:
        while self._pending and not self._broken:
            lines, self._pending = self._pending, []
            await self._post({"event": "lines", "run": self.run_id, "lines": lines})

    async def _post(self, message: dict[str, Any]) -> None:
        if self._broken or self._http is None:
            return
        try:
            async with self._http.post(
                f"{self.url}/api/load", json=message, headers=self._headers
            ) as response:
                if response.status >= 400:
                    raise ClientError(f"HTTP {response.status}: {await response.text()}")
        except (ClientError, TimeoutError) as exc:
            self._broken = True
            self._say(f"the dashboard at {self.url} stopped answering ({exc}); load goes on")
