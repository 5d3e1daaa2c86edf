"""Long synthetic histories for the checker's benchmarks, written a million operations at a time.

    .venv/bin/python benchmarks/check_blocks.py FILE OPS [--replicas 1]

benchmarks/check_speed.py's generator holds every operation of a history (and its plan) in
memory; ten million of them would not fit beside the checker being measured. Here the history
is written in blocks of :data:`BLOCK` operations, each block after the last in time, the
replicas' stores carried over from one to the next and the write ids tagged per block (so they
stay unique): one valid history, consistent with one store (``--replicas 1``), full of stale
reads with private ones.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lbdemo.history import HistoryWriter

BLOCK = 1_000_000


def _check_speed() -> Any:
    path = Path(__file__).with_name("check_speed.py")
    spec = importlib.util.spec_from_file_location("check_speed_blocks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_history(path: Path, n_ops: int, *, replicas: int) -> None:
    """``n_ops`` operations in blocks of at most :data:`BLOCK`, one after the other in time."""
    generate = _check_speed().generate
    stores: list[dict[str, tuple[str, int]]] = [{} for _ in range(replicas)]
    start, block = 0.0, 0
    with HistoryWriter(path, wall_anchor=time.time(), mono_anchor=0.0) as writer:
        while n_ops > 0:
            size = min(BLOCK, n_ops)
            ops = generate(
                size,
                replicas=replicas,
                seed=block + 1,
                start=start,
                stores=stores,
                tag=f"b{block}-" if block else "",
            )
            writer.write_all(ops)
            start = max(op.complete for op in ops) + 0.01
            n_ops -= size
            block += 1


def write_in_child(path: Path, n_ops: int, *, replicas: int) -> None:
    """:func:`write_history` in a child process: a child's peak RSS counts the memory of the
    process it was forked from, so the measuring process never holds a generated history."""
    argv = [sys.executable, __file__, str(path), str(n_ops), "--replicas", str(replicas)]
    subprocess.run(argv, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("ops", type=int)
    parser.add_argument("--replicas", type=int, default=1)
    args = parser.parse_args(argv)
    write_history(args.file, args.ops, replicas=args.replicas)
    return 0


if __name__ == "__main__":
    sys.exit(main())
