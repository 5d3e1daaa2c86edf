"""One request and its response on the data path: :class:`Exchange`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbdemo.balancer.http import IDEMPOTENT_RETRYABLE

if TYPE_CHECKING:
    from lbdemo.balancer.pool import Replica
    from lbdemo.balancer.upstream import UpstreamConnection


class Exchange:
    """One request and its response, from head parsed to response sent.

    ``head`` is the request head as it goes upstream, final empty line included (a ``Host``
    line is added at attach time when the client sent none).
    """

    __slots__ = (
        "body_size",
        "chunked",
        "discard",
        "has_host",
        "head",
        "http10",
        "idempotent",
        "keep_alive",
        "key",
        "method",
        "pending",
        "pending_size",
        "rechunk",
        "replica",
        "request_done",
        "response_done",
        "response_started",
        "seen_up_at",
        "seen_up_rx",
        "started",
        "status",
        "upstream",
    )

    def __init__(self, method: bytes, head: bytes, started: float) -> None:
        self.method = method
        self.head = head
        self.started = started
        self.idempotent = method in IDEMPOTENT_RETRYABLE
        self.has_host = True
        self.chunked = False
        self.keep_alive = True
        self.http10 = False
        self.key: bytes | None = None
        # Body bytes that arrived before a replica connection; most requests have none, so
        # the list is only made when needed.
        self.pending: list[bytes] | None = None
        self.pending_size = 0
        self.body_size = 0
        self.request_done = False
        self.response_started = False
        self.response_done = False
        self.discard = False
        self.rechunk = False
        self.status = 0
        self.replica: Replica | None = None
        self.upstream: UpstreamConnection | None = None
        self.seen_up_rx = 0
        self.seen_up_at = 0.0

    def hold(self, data: bytes) -> int:
        """Keep body bytes until a replica connection is attached; returns the bytes held."""
        if self.pending is None:
            self.pending = [data]
        else:
            self.pending.append(data)
        self.pending_size += len(data)
        return self.pending_size
