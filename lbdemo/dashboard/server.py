"""The dashboard server: one per ``lbdemo up --dashboard`` or ``lbdemo demo --dashboard``.

It outlives the stacks it shows: ``lbdemo demo`` runs one stack per layout, and the page stays
on one URL while :meth:`Dashboard.watch` moves it from one stack to the next. While a stack is
watched, a producer samples it at a fixed rate (however many pages are open, and however busy
the stack is) and a second loop turns the runtime's events into log lines worded by
:func:`lbdemo.deploy.events.describe_event`, the same function that prints ``up``'s event lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from lbdemo.dashboard.actions import Actions, actions_for
from lbdemo.dashboard.address import remember
from lbdemo.dashboard.app import create_dashboard_app
from lbdemo.dashboard.runs import SOURCES, LoadRun, checked_figures
from lbdemo.dashboard.sampler import Sampler
from lbdemo.dashboard.sse import Broadcaster, Message
from lbdemo.deploy.events import describe_event
from lbdemo.deploy.live import LiveStack
from lbdemo.process.listener import CONTROL_POLICY, GuardedAppRunner, ListenerPolicy

SAMPLE_INTERVAL_S = 1.0
EVENT_POLL_S = 0.2  # events reach the page within this, not a whole sampling period
LAST_RUN_FILE = "last-run.json"  # under STATE/dashboard/: the previous run's series


class Source(Protocol):
    """What the producer samples: a live stack (:class:`Sampler`) or a replay."""

    async def sample(self) -> dict[str, Any]: ...
    async def close(self) -> None: ...


class Dashboard:
    """The page's server, and the stack it shows (if any)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        interval_s: float = SAMPLE_INTERVAL_S,
        state_dir: Path | None = None,
        policy: ListenerPolicy = CONTROL_POLICY,
    ) -> None:
        self.host = host
        self.policy = policy
        self.port = port
        self.token = token or secrets.token_urlsafe(24)
        self.interval_s = interval_s
        # A new one per process: a page that sees it change knows the stack is a new one.
        self.generation = secrets.token_hex(8)
        self.replay = False
        self.port_may_change = False  # True: ``port`` is only a wish (a remembered one)
        self.broadcaster = Broadcaster()
        self.state_dir = state_dir  # STATE/dashboard: the address kept, the last run's series
        self.runs = LoadRun(state_dir / LAST_RUN_FILE if state_dir is not None else None)
        self.reports: dict[str, Path] = {}  # random id -> a finished run's HTML report
        self.watched_key: str | None = None
        self.actions: Actions | None = None
        self.closing = False
        self.url: str | None = None
        self._runner: web.AppRunner | None = None
        self._stack: LiveStack | None = None
        self._source: Source | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def link(self) -> str:
        """The URL to open: the token rides in the fragment, which browsers never send."""
        assert self.url is not None
        return f"{self.url}/#token={self.token}"

    async def start(self) -> None:
        runner = GuardedAppRunner(
            create_dashboard_app(self), policy=self.policy, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        self._runner = runner
        try:
            try:
                await web.TCPSite(runner, self.host, self.port).start()
            except OSError:
                if not self.port_may_change:
                    raise
                # the remembered port is taken: a free one, remembered in its turn
                await web.TCPSite(runner, self.host, 0).start()
        except BaseException:
            await self.stop()
            raise
        host, port = runner.addresses[0][:2]
        if self.state_dir is not None:  # the next dashboard of this state root takes it again
            remember(self.state_dir, port, self.token)
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        self.closing = True
        await self.forget()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- the stack shown ---------------------------------------------------------------------

    async def watch(self, stack: LiveStack) -> None:
        """Show ``stack`` from now on (its events so far included), until :meth:`forget`."""
        await self.forget()
        self._stack = stack
        self.actions = actions_for(stack)
        sampler = Sampler(stack)
        self.runs.next_label = stack.layout.storage  # the demo's run on it says no more
        sampler.watched_key = self.watched_key
        self._source = sampler
        self.say(f"watching a stack with {stack.layout.summary}; balancer {stack.url}")
        self._tasks = [
            asyncio.create_task(self._produce(sampler)),
            asyncio.create_task(self._follow_events(stack)),
        ]

    async def play(self, source: Source, line: str) -> None:
        """Show ``source`` (a replay) instead of a stack, until :meth:`forget`."""
        await self.forget()
        self.replay = True
        self._source = source
        self.say(line)
        self._tasks = [asyncio.create_task(self._produce(source))]

    async def forget(self) -> None:
        """Stop showing the current stack (before it stops: no sample of a half-stopped one)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.actions is not None:
            await self.actions.close()
            self.actions = None
        self._source = None
        if self.runs.source == "demo":
            self.runs.finish(None)  # the demo's own run ends with its stack
        if self._stack is not None:
            self._stack = None
            self.say("the stack stopped")
            empty: dict[str, Any] = {
                "time": time.time(),
                "stack": None,
                "replicas": [],
                "rotation": [],
                "counts": {"load": self.runs.describe_counts()},
            }
            self.broadcaster.publish(Message("snapshot", self._complete(empty)))

    def locust_line(self, line: str) -> None:
        """Feed one line of Locust's output (only its progress lines count)."""
        self.runs.line(line, source="demo")

    def checked(self, report: dict[str, Any], html: Path) -> None:
        """A demo run was checked: its verdict and report replace its live word."""
        if self.runs.source != "demo" or self.runs.run_id is None:
            return
        link = self._report_link(str(html)) if html.is_file() else None
        self.runs.finish(self.runs.run_id, **checked_figures(report), report=link)
        self.say(f"{self.runs.label or 'the run'} checked: {self.runs.describe_verdict()['text']}")

    def watch_key(self, key: str | None) -> None:
        """The key the snapshot shows on every replica (None: the hottest)."""
        self.watched_key = key
        if isinstance(self._source, Sampler):
            self._source.watched_key = key

    def feed(self, message: dict[str, Any]) -> None:
        """What ``lbdemo load`` says about its run (``POST /api/load``); ValueError for a
        message that is not one of the three the API describes."""
        event, run_id = message.get("event"), message.get("run")
        if not isinstance(run_id, str) or not 1 <= len(run_id) <= 64:
            raise ValueError("'run' must be a string of 1 to 64 characters")
        if event == "start":
            source, label = message.get("source", "load"), message.get("label")
            if source not in SOURCES or not isinstance(label, str | None):
                raise ValueError(f"'source' must be one of {', '.join(SOURCES)}")
            self.runs.start(run_id, label, str(source))
            self.say(f"a load started: {label or run_id} ({source})")
        elif event == "lines":
            lines = message.get("lines")
            if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
                raise ValueError("'lines' must be a list of strings")
            for line in lines[:1000]:
                self.runs.line(line, run_id=run_id, source=self.runs.source or "load")
        elif event == "end":
            verdict = message.get("verdict")
            if verdict not in ("consistent", "inconsistent", None):
                raise ValueError("'verdict' must be consistent, inconsistent or null")
            figures = [message.get("stale_reads"), message.get("lost_writes")]
            if not all(x is None or (isinstance(x, int) and x >= 0) for x in figures):
                raise ValueError("'stale_reads' and 'lost_writes' must be counts or null")
            report = self._report_link(message.get("html"))
            self.runs.finish(
                run_id,
                verdict=verdict,
                stale_reads=figures[0],
                lost_writes=figures[1],
                report=report,
            )
            if run_id == self.runs.run_id:
                self.say(f"the load ended: {self.runs.describe_verdict()['text']}")
        else:
            raise ValueError("'event' must be start, lines or end")

    def _report_link(self, html: Any) -> dict[str, Any] | None:
        """A finished run's HTML report, served under a random id (the link is the permission:
        a page cannot send a header with a plain link)."""
        if html is None:
            return None
        if not isinstance(html, str) or not html.endswith(".html"):
            raise ValueError("'html' must be the path of an .html file")
        path = Path(html)
        if not path.is_absolute() or not path.is_file():
            raise ValueError("'html' must be the absolute path of an existing file")
        report_id = secrets.token_urlsafe(12)
        self.reports[report_id] = path
        return {"html": str(path), "url": f"/reports/{report_id}/{path.name}"}

    def _complete(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """The fields every snapshot has, whatever produced it (docs/dashboard.md)."""
        snapshot.setdefault("counts", {})["load"] = self.runs.describe_counts()
        snapshot["verdict"] = self.runs.describe_verdict()
        snapshot["series"] = self.runs.describe_series()
        snapshot.setdefault("key", {"key": None, "chosen": "hottest", "replicas": []})
        snapshot.setdefault("upgrade", None)
        snapshot["generation"] = self.generation
        snapshot["replay"] = self.replay
        snapshot["subscribers"] = self.broadcaster.subscribers
        return snapshot

    def say(self, line: str) -> None:
        """A line in the page's event log."""
        self.broadcaster.publish(Message("log", {"time": time.strftime("%H:%M:%S"), "line": line}))

    async def _produce(self, sampler: Source) -> None:
        """At a fixed rate: the next tick is planned from the last, not from when a slow sample
        ended, and a sample that overran its tick skips the ticks it missed."""
        try:
            next_at = time.monotonic()
            failing = False
            while True:
                try:
                    snapshot = await sampler.sample()
                except Exception as exc:  # one bad sample must not freeze the page for good
                    if not failing:
                        self.say(
                            f"dashboard: a sample failed ({type(exc).__name__}: {exc}); retrying"
                        )
                    failing = True
                else:
                    failing = False
                    self.broadcaster.publish(Message("snapshot", self._complete(snapshot)))
                next_at += self.interval_s
                now = time.monotonic()
                if next_at < now:
                    next_at = now + self.interval_s
                await asyncio.sleep(next_at - now)
        finally:
            with contextlib.suppress(Exception):
                await sampler.close()

    async def _follow_events(self, stack: LiveStack) -> None:
        seen = 0
        while True:
            events = stack.events
            for event in events[seen:]:
                self._log_event(event)
            seen = len(events)
            await asyncio.sleep(EVENT_POLL_S)

    def _log_event(self, event: dict[str, Any]) -> None:
        line = describe_event(event)
        if line is not None:
            self.say(line)
