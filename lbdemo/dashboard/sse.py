"""Server-Sent Events: the wire format, and a broadcaster that never waits for a slow client.

The producer samples the stack at a fixed rate and publishes each message once; every connected
page has its own small queue. A page that cannot keep up (a laptop asleep, a tab in the
background) loses its oldest *snapshots* rather than slowing the producer or the other pages;
log lines are never dropped that way, because each one is said only once.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

QUEUE_LIMIT = 64
LOG_BACKLOG = 200  # log lines a page gets when it connects
HEARTBEAT_S = 15.0  # a comment line keeps idle connections open through proxies


@dataclass(frozen=True)
class Message:
    event: str  # "snapshot" or "log"
    data: dict[str, Any]

    def encode(self) -> bytes:
        """One SSE message: ``event:`` and one ``data:`` line (JSON never has a raw newline)."""
        payload = json.dumps(self.data, separators=(",", ":"))
        return f"event: {self.event}\ndata: {payload}\n\n".encode()


class Subscriber:
    """One connected page: its pending messages, oldest first."""

    def __init__(self) -> None:
        self._pending: deque[Message] = deque()
        self._ready = asyncio.Event()

    def put(self, message: Message) -> None:
        if len(self._pending) >= QUEUE_LIMIT:
            stale = next((m for m in self._pending if m.event == "snapshot"), None)
            if stale is not None:
                self._pending.remove(stale)
        self._pending.append(message)
        self._ready.set()

    async def get(self, timeout_s: float) -> Message | None:
        """The next message, or None after ``timeout_s`` without one."""
        if not self._pending:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout_s)
            except TimeoutError:
                return None
        return self._pending.popleft()

    def drain(self) -> list[Message]:
        """What is pending, without waiting (the last words before the server closes)."""
        pending, self._pending = list(self._pending), deque()
        return pending


class Broadcaster:
    """The latest snapshot and the recent log, and every subscriber's queue."""

    def __init__(self) -> None:
        self.latest: Message | None = None
        self.log: deque[Message] = deque(maxlen=LOG_BACKLOG)
        self._subscribers: set[Subscriber] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, message: Message) -> None:
        if message.event == "snapshot":
            self.latest = message
        else:
            self.log.append(message)
        for subscriber in self._subscribers:
            subscriber.put(message)

    def subscribe(self) -> Subscriber:
        """A new page first gets the recent log, then the latest snapshot."""
        subscriber = Subscriber()
        for message in self.log:
            subscriber.put(message)
        if self.latest is not None:
            subscriber.put(self.latest)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
