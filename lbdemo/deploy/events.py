"""A running stack's events, either runtime's, in words: one line each, the same for `lbdemo up`'s
terminal and the dashboard's event log (one source of truth)."""

from __future__ import annotations

from typing import Any

# What a runtime reports of a change: {"event": "die", "name": ..., ...} (docs/runtime.md).
Event = dict[str, Any]


def describe_event(event: Event) -> str | None:
    """One line for a change in the running stack, or None for events nobody needs to see."""
    kind = event.get("event")
    name = event.get("name", "")
    short = str(event.get("id", ""))[:12]
    if kind == "die":
        return f"{name} ({short}) died, exit status {event.get('exit_code')}"
    if kind == "replace":
        return (
            f"{name} replaced: {str(event.get('old_id'))[:12]} -> "
            f"{str(event.get('new_id'))[:12]} (fresh container, empty layer)"
        )
    if kind == "restart":
        return f"{name} ({short}) restarted: same container, same data"
    if kind == "join":
        return f"{name} joined the rotation ({event.get('url')})"
    if kind == "leave":
        return f"{name} left the rotation"
    if kind == "stop":
        return f"{name} ({short}) stopped, exit status {event.get('exit_code')}"
    if kind == "destroy":
        return f"{name} ({short}) removed"
    if kind == "start":
        return f"{name} ({short}, {event.get('image')}) started"
    if kind == "upgrade":
        return f"{event.get('old')} upgraded: {event.get('new')} runs {event.get('image')}"
    if kind == "warning":
        return f"warning: {event.get('message')}"
    return None
