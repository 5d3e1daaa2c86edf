"""A state root outside pytest's own temporary tree for these end-to-end tests.

PostgreSQL runs as the unprivileged ``lbdemo-pg`` user, which must traverse every directory
above its data. ``/tmp/pytest-of-<user>`` is shared by every pytest session of that user on the
machine, and each new session resets it to 0700: a state root below it can become unreachable
in the middle of a run. A directory made directly in the system's temporary directory cannot.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def state_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lbdemo-faults-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
