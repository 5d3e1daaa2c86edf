"""``lbdemo ...`` as a real process, for what a user types at a shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_lbdemo(state: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LBDEMO_STATE": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "lbdemo", *argv],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
