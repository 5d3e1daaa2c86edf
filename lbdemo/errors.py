"""The exception tree of lbdemo.

Library errors (asyncpg, OSError, subprocess) are translated once, at the boundary where they
happen, into one of these; the CLI prints ``str(exc)`` as one line and exits with status 2.

    LbdemoError
    ├── UsageError        bad input from the user (flags, names, specs); nothing was changed
    ├── StateError        the state root is not what a command needs (unknown container, in use...)
    ├── StoreError        the database could not be started or reached
    └── ProcessError      a child process (replica, balancer, postgres) failed to start or stay up
"""

from __future__ import annotations


class LbdemoError(Exception):
    """Base of every error lbdemo reports to a user as one line."""


class UsageError(LbdemoError):
    """The user asked for something malformed; nothing was changed."""


class StateError(LbdemoError):
    """The request is well formed but the current state forbids it."""


class StoreError(LbdemoError):
    """A PostgreSQL server could not be started, reached or queried."""


class StoreOutcomeUnknown(StoreError):
    """A write reached the store and its answer was lost (a member died, a timeout): it may or
    may not have been applied. A replica answers 504 for it, never the 503 of a write that
    certainly failed, so the history records it as ``unknown``."""


class ProcessError(LbdemoError):
    """A child process failed to start, or died while it was needed."""
