"""The bench's children (blocking Popen): stopped by pid, ready line awaited, silence an error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lbdemo.errors import ProcessError
from lbdemo.process.children import Children


def test_children_are_stopped_by_pid(tmp_path: Path) -> None:
    children = Children(tmp_path)
    proc = children.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    children.stop_all(timeout=5)
    assert proc.poll() is not None
    assert children.procs == []


def test_a_child_that_never_gets_ready_is_an_error_and_is_stopped(tmp_path: Path) -> None:
    children = Children(tmp_path)
    try:
        with pytest.raises(ProcessError):
            children.start_with_ready_line("mute", [sys.executable, "-c", "pass"], timeout=5)
    finally:
        children.stop_all()


def test_lines_before_the_ready_line_are_skipped(tmp_path: Path) -> None:
    script = 'print(\'starting\', flush=True); print(\'{"event": "ready", "url": "u"}\')'
    children = Children(tmp_path)
    try:
        ready = children.start_with_ready_line("chatty", [sys.executable, "-c", script])
    finally:
        children.stop_all()
    assert ready == {"event": "ready", "url": "u"}


def test_a_child_that_prints_no_ready_line_is_an_error(tmp_path: Path) -> None:
    children = Children(tmp_path)
    try:
        with pytest.raises(ProcessError, match="exited with status 0"):
            children.start_with_ready_line("chatty", [sys.executable, "-c", "print('{oops')"])
    finally:
        children.stop_all()
