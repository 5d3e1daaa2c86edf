"""The rules that turn an HTTP result into an operation's ``outcome``, and where a Locust
process writes its history.

The history itself (``lbdemo-history/1``, ``docs/history-format.md``) is written by
:class:`lbdemo.history.HistoryWriter`, re-exported here: that module is plain standard library
plus msgspec, with no asyncio server in sight, so it is safe inside Locust's gevent-patched
process. Besides that module it imports only the standard library, so plain unit tests use
it too.
"""

from __future__ import annotations

from lbdemo.history import FAIL, OK, UNKNOWN, HistoryWriter, worker_history_path

__all__ = [
    "FAIL",
    "OK",
    "UNKNOWN",
    "HistoryWriter",
    "read_outcome",
    "worker_history_path",
    "write_outcome",
]


def write_outcome(
    status: int | None, error: BaseException | None, body_complete: bool = True
) -> str:
    """The ``outcome`` of a ``PUT``: did the write certainly, certainly not, or maybe take effect?

    ``status`` is ``None`` when no response arrived; ``error`` is what the client raised then.
    Only a refused connection proves the request never left; every other transport error may
    have happened after the replica committed. A balancer's 502/504 come after forwarding, so
    the write may have landed; 503 means no replica was tried, and a 4xx is a rejected request.
    Other 5xx are ``unknown`` because the checker treats ``unknown`` as "maybe applied", the
    only safe reading when we cannot tell.
    """
    if status is None:
        return FAIL if isinstance(error, ConnectionRefusedError) else UNKNOWN
    if 200 <= status < 300:
        # The status line says the replica acknowledged; a body cut off afterwards cannot undo
        # the write, but it also means we did not see the full answer, so stay conservative.
        return OK if body_complete else UNKNOWN
    if 400 <= status < 500 or status == 503:
        return FAIL
    return UNKNOWN


def read_outcome(status: int | None, body_complete: bool = True) -> str:
    """The ``outcome`` of a ``GET``: ``ok`` when it observed the key (200) or its absence (404)."""
    if status in (200, 404) and body_complete:
        return OK
    return FAIL
