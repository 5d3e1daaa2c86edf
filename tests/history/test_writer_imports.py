"""The writer the Locust workload records with stays light: importing it (and so the history
package) loads no asyncio, aiohttp, Locust or gevent, and no other part of lbdemo."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("asyncio", "aiohttp", "locust", "gevent")


def test_importing_the_writer_loads_only_the_history_package() -> None:
    # A fresh interpreter: this one has long since imported everything.
    code = (
        "import json, sys; import lbdemo.history.writer; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"({', '.join(repr(h) for h in HEAVY)}, 'lbdemo'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(done.stdout)
    assert not [m for m in loaded if m.split(".")[0] in HEAVY], loaded
    assert {m for m in loaded if m.startswith("lbdemo")} <= {
        "lbdemo",
        "lbdemo.errors",
        "lbdemo.history",
        "lbdemo.history.reader",
        "lbdemo.history.record",
        "lbdemo.history.rules",
        "lbdemo.history.writer",
    }, loaded
