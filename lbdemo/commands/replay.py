"""``lbdemo replay REPORT.json``: a recorded run played again, on the dashboard or the terminal.

The safety net for a talk where nothing may go wrong: no stack, no load, no network beyond
127.0.0.1; the figures are the report's own (:mod:`lbdemo.dashboard.replay`), and every
snapshot says ``replay: true``. With ``--dashboard`` the page stays up after the end until
Ctrl-C; it takes the state root's remembered address, so a tab left open on the talk's
dashboard shows the replay by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

from lbdemo.commands.up import add_dashboard_arguments, dashboard_from, dashboard_line
from lbdemo.config import add_state_argument, color_wanted, state_root
from lbdemo.dashboard import Dashboard
from lbdemo.dashboard.replay import MAX_SPEED, MIN_SPEED, Recording, Replay
from lbdemo.errors import UsageError
from lbdemo.report import headline

TERMINAL_TICK_S = 0.1


def register(subparsers: Any) -> None:
    replay = subparsers.add_parser(
        "replay",
        help="play a recorded run (a report's JSON) again, on the dashboard, offline",
        description="Play the run a report recorded (REPORT.json, as lbdemo demo and lbdemo "
        "load write them) at its pace or faster: its stale reads per second, its periods and "
        "its verdict, on the dashboard (--dashboard) or as progress lines. No stack runs.",
    )
    add_state_argument(replay)
    replay.add_argument("report", type=Path, metavar="REPORT.json", help="a run's JSON report")
    replay.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help=f"X times the recorded pace (default 1; {MIN_SPEED:g} to {MAX_SPEED:g})",
    )
    add_dashboard_arguments(replay)
    replay.set_defaults(func=run)


def read_recording(path: Path) -> tuple[Recording, dict[str, Any]]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise UsageError(f"{path} is not JSON") from None
    return Recording.from_report(report, path.resolve()), report


def run(args: argparse.Namespace) -> int:
    recording, report = read_recording(args.report)
    if not MIN_SPEED <= args.speed <= MAX_SPEED:
        raise UsageError(
            f"--speed must be between {MIN_SPEED:g} and {MAX_SPEED:g}, got {args.speed:g}"
        )
    dashboard = dashboard_from(args, state_root(args))
    if dashboard is None:
        asyncio.run(_terminal(recording, args.speed))
    else:
        asyncio.run(_on_dashboard(dashboard, recording, args.speed))
    print(headline([report], color=color_wanted(sys.stdout)))
    return 0


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _terminal(recording: Recording, speed: float) -> None:
    done = asyncio.Event()
    replay = Replay(recording, speed, say, say, done.set)
    while not done.is_set():
        await replay.sample()
        await asyncio.sleep(TERMINAL_TICK_S)


async def _on_dashboard(dashboard: Dashboard, recording: Recording, speed: float) -> None:
    run_id = secrets.token_hex(6)

    def on_end() -> None:
        html = recording.html
        dashboard.feed(
            {
                "event": "end",
                "run": run_id,
                "verdict": recording.verdict,
                "stale_reads": recording.stale_total,
                "lost_writes": recording.lost_writes,
                "html": str(html) if html is not None else None,
            }
        )
        print("replay finished; the page stays until Ctrl-C", flush=True)

    def on_line(line: str) -> None:
        dashboard.runs.line(line, run_id=run_id)

    replay = Replay(recording, speed, on_line, say, on_end)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    await dashboard.start()
    try:
        print(dashboard_line(dashboard), flush=True)
        dashboard.feed(
            {"event": "start", "run": run_id, "label": recording.label, "source": "replay"}
        )
        await dashboard.play(replay, f"replaying {recording.label} at {speed:g}x (no stack runs)")
        await stopping.wait()
    finally:
        await dashboard.stop()
