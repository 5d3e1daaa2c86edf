"""Flow control of a client socket: why its reading is paused, and whether it reads its answers.

Reading is paused for several independent reasons at once (a request queued behind another, a
replica slow to read, ...); each is a bit, and reading resumes only when no bit is left. The
other direction is the transport's: ``pause_writing`` while the client leaves its answers
unread above the high-water mark.
"""

from __future__ import annotations

import asyncio

# Reasons the client socket's reading is paused; reading resumes when none is left.
PAUSE_PIPELINE = 1  # a request is queued behind the active one
PAUSE_UPSTREAM = 2  # the replica's socket buffer is full
PAUSE_PENDING = 4  # body bytes are piling up while we connect to the replica
PAUSE_CLOSING = 8  # we will not read anything more
PAUSE_WRITING = 16  # the client does not read its responses: read no more requests from it


class FlowControl(asyncio.Protocol):
    """The pause bits of a client connection and the watch on answers it leaves unread."""

    # Slots, as on every class of the data path: these are read on every request.
    __slots__ = ("_pause", "_stall_at", "_stall_size", "closed", "transport", "write_paused")

    def __init__(self, now: float) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.write_paused = False
        self._pause = 0
        # While writing is paused: the client's unread bytes when last looked, and since when.
        self._stall_size = -1
        self._stall_at = now

    def _set_pause(self, reason: int) -> None:
        if not self._pause and self.transport is not None and not self.closed:
            self.transport.pause_reading()
        self._pause |= reason

    def _clear_pause(self, reason: int) -> None:
        if self._pause & reason:
            self._pause &= ~reason
            if not self._pause and self.transport is not None and not self.closed:
                self.transport.resume_reading()

    def upstream_full(self, full: bool) -> None:
        """The replica's socket buffer filled (or drained): stop (or resume) reading the body."""
        if full:
            self._set_pause(PAUSE_UPSTREAM)
        else:
            self._clear_pause(PAUSE_UPSTREAM)

    def pause_writing(self) -> None:
        # The client reads its responses slower than they come: stop reading the replica's,
        # and stop reading more requests, which would only add answers nobody collects (the
        # balancer's own answers above all, which no replica's pace holds back). A client
        # that reads nothing more for client_timeout is dropped (see stalled).
        self.write_paused = True
        self._stall_size = -1
        self._set_pause(PAUSE_WRITING)
        self.read_upstream(False)

    def resume_writing(self) -> None:
        self.write_paused = False
        self._clear_pause(PAUSE_WRITING)
        self.read_upstream(True)

    def read_upstream(self, on: bool) -> None:
        """Pause or resume reading the replica's answer in progress (the subclass knows it)."""

    def stalled(self, now: float, limit: float) -> bool:
        """Whether writing is paused and the client's unread bytes have not moved for ``limit``."""
        if not self.write_paused or self.transport is None:
            return False
        unread = self.transport.get_write_buffer_size()
        if unread != self._stall_size:
            self._stall_size = unread
            self._stall_at = now
            return False
        return now - self._stall_at > limit
