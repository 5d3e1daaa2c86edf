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
from typing import Any

from aiohttp import web

from lbdemo.dashboard.actions import StackActions
from lbdemo.dashboard.app import create_dashboard_app
from lbdemo.dashboard.counts import LoadCounts
from lbdemo.dashboard.sampler import Sampler
from lbdemo.dashboard.sse import Broadcaster, Message
from lbdemo.deploy.events import describe_event
from lbdemo.process.listener import CONTROL_POLICY, GuardedAppRunner, ListenerPolicy
from lbdemo.runtime.stack import Stack

SAMPLE_INTERVAL_S = 1.0
EVENT_POLL_S = 0.2  # events reach the page within this, not a whole sampling period


class Dashboard:
    """The page's server, and the stack it shows (if any)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        interval_s: float = SAMPLE_INTERVAL_S,
        policy: ListenerPolicy = CONTROL_POLICY,
    ) -> None:
        self.host = host
        self.policy = policy
        self.port = port
        self.token = token or secrets.token_urlsafe(24)
        self.interval_s = interval_s
        self.broadcaster = Broadcaster()
        self.load = LoadCounts()
        self.actions: StackActions | None = None
        self.closing = False
        self.url: str | None = None
        self._runner: web.AppRunner | None = None
        self._stack: Stack | None = None
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
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await self.stop()
            raise
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        self.closing = True
        await self.forget()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- the stack shown ---------------------------------------------------------------------

    async def watch(self, stack: Stack) -> None:
        """Show ``stack`` from now on (its events so far included), until :meth:`forget`."""
        await self.forget()
        self._stack = stack
        self.load = LoadCounts()
        self.actions = StackActions(stack)
        sampler = Sampler(stack, self.load)
        self.say(f"watching a stack with {stack.layout.summary}; balancer {stack.url}")
        self._tasks = [
            asyncio.create_task(self._produce(sampler)),
            asyncio.create_task(self._follow_events(stack)),
        ]

    async def forget(self) -> None:
        """Stop showing the current stack (before it stops: no sample of a half-stopped one)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.actions is not None:
            await self.actions.close()
            self.actions = None
        if self._stack is not None:
            self._stack = None
            self.say("the stack stopped")
            empty: dict[str, Any] = {
                "time": time.time(),
                "stack": None,
                "replicas": [],
                "rotation": [],
            }
            self.broadcaster.publish(Message("snapshot", empty))

    def locust_line(self, line: str) -> None:
        """Feed one line of Locust's output (only its progress lines count)."""
        self.load.observe(line)

    def say(self, line: str) -> None:
        """A line in the page's event log."""
        self.broadcaster.publish(Message("log", {"time": time.strftime("%H:%M:%S"), "line": line}))

    async def _produce(self, sampler: Sampler) -> None:
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
                    snapshot["subscribers"] = self.broadcaster.subscribers
                    self.broadcaster.publish(Message("snapshot", snapshot))
                next_at += self.interval_s
                now = time.monotonic()
                if next_at < now:
                    next_at = now + self.interval_s
                await asyncio.sleep(next_at - now)
        finally:
            with contextlib.suppress(Exception):
                await sampler.close()

    async def _follow_events(self, stack: Stack) -> None:
        seen = 0
        while True:
            events = stack.runtime.events
            for event in events[seen:]:
                self._log_event(event)
            seen = len(events)
            await asyncio.sleep(EVENT_POLL_S)

    def _log_event(self, event: dict[str, Any]) -> None:
        line = describe_event(event)
        if line is not None:
            self.say(line)
