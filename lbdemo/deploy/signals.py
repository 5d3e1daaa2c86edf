"""``docker kill -s``'s signal names, the same for both runtimes."""

from __future__ import annotations

import contextlib
import signal

from lbdemo.errors import UsageError


def parse_signal(text: str) -> signal.Signals:
    """``KILL``, ``SIGKILL`` or ``9`` -> SIGKILL (``docker kill -s`` accepts all three)."""
    name = text.upper()
    if name.isdigit():
        try:
            return signal.Signals(int(name))
        except ValueError:
            pass
    else:
        with contextlib.suppress(KeyError):
            return signal.Signals[name if name.startswith("SIG") else "SIG" + name]
    raise UsageError(f"invalid signal: {text}")
