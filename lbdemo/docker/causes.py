"""Why a container did not start, in words: the causes the project can recognise in what the
engine or the container itself said.

A replica that never answers ``/healthz`` has usually said why in its own log (its last lines);
the engine's refusals name the rest. Each cause is matched on the text, so a new wording of the
same failure by a later engine or library falls through to the raw text, which is always shown.
"""

from __future__ import annotations

import re

# (pattern in the engine's or the container's words, what it means)
CAUSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"Name or service not known|Temporary failure in name resolution|"
            r"No address associated with hostname|gaierror",
            re.IGNORECASE,
        ),
        "no name resolution between containers: the replica could not find its store by "
        "container name (are both on the project's network? a dockerd started with "
        "--iptables=false gives containers no DNS)",
    ),
    (
        re.compile(r"PostgreSQL: (TimeoutError|.*No route to host)", re.IGNORECASE),
        "the replica reached no store: its connection to the store container timed out "
        "(traffic between containers blocked, e.g. dockerd --iptables=false)",
    ),
    (
        re.compile(r"Connection refused|ConnectionRefusedError", re.IGNORECASE),
        "the store container refused the connection: its PostgreSQL is not listening",
    ),
    (
        re.compile(r"No such image|pull access denied|repository does not exist", re.IGNORECASE),
        "the image is missing on this engine: build it (see docs/docker.md) or name another "
        "with $LBDEMO_DOCKER_IMAGE",
    ),
    (
        re.compile(r"port is already allocated|address already in use", re.IGNORECASE),
        "the port is taken by another process or container: free it, or choose another",
    ),
)


def cause_of(text: str) -> str | None:
    """The first recognised cause in ``text``, in words; None when none is recognised."""
    for pattern, meaning in CAUSES:
        if pattern.search(text):
            return meaning
    return None


def with_cause(message: str, said: str) -> str:
    """``message``, then what was said, then the cause when one is recognised."""
    cause = cause_of(said)
    return f"{message}; its log: {said}" + (f" (cause: {cause})" if cause else "")
