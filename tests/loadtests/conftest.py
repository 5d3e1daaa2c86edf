"""Make the workload's standard-library modules (``loadtests/oplog.py``, ``staleness.py``)
importable the way Locust imports them: from their own directory.

The locustfile itself is never imported here: importing Locust monkey-patches the process with
gevent, which the asyncio tests in this process must not meet. It only runs as a child process.
"""

from __future__ import annotations

import sys
from pathlib import Path

LOADTESTS_DIR = Path(__file__).resolve().parents[2] / "loadtests"
if str(LOADTESTS_DIR) not in sys.path:
    sys.path.insert(0, str(LOADTESTS_DIR))
