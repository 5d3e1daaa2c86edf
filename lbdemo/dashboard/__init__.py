"""The live dashboard for demos: one page, updated from Server-Sent Events, that shows a running
stack (replicas, rotation, live counts, the event log) and does the seed's moves on it through
the daemon API. See docs/dashboard.md."""

from __future__ import annotations

from lbdemo.dashboard.server import Dashboard

__all__ = ["Dashboard"]
