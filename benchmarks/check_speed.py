"""How fast is the checker? Generate a realistic synthetic history, load it, check it.

    .venv/bin/python benchmarks/check_speed.py [--ops 1000000] [--mode both|consistent|stale]
                                               [--relayout] [--keep DIR]

Two histories, same shape (200 clients, 50 keys, 30% writes, 1-20 ms latencies so that many
operations overlap, a few failed and unknown-outcome writes):

- ``consistent``: one register per key, every op applied at a random instant of its interval;
- ``stale``: three replicas with private stores behind round robin, as with private storage:
  a write lands on one replica, a read sees only what its replica holds.

Prints the 1-minute load average at the start (on a shared machine the wall clock also measures
the neighbours), then per history: operations, seconds (wall and CPU) for loading the file, for
the check, and for both. The file is written to a temporary directory removed afterwards, or
with ``--keep DIR`` to DIR as ``consistent.jsonl`` and ``stale.jsonl``, kept.

``--relayout`` is an experiment, not a mode to use: after loading (and outside the timings) it
copies each key's operations into fresh objects, allocated one key after the other, and then
checks the copy. Same operations, same order, same result; only where they lie in memory
differs. The check walks the history key by key, so this shows how much of its time goes to
waiting for memory (see docs/checker.md, "Speed").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import msgspec

import lbdemo.checker.result as result_module
from lbdemo.checker import check
from lbdemo.history import History, HistoryWriter, Op, read_history


def generate(
    n_ops: int,
    *,
    replicas: int,
    seed: int = 1,
    start: float = 0.0,
    stores: list[dict[str, tuple[str, int]]] | None = None,
    tag: str = "",
) -> list[Op]:
    """``n_ops`` operations; ``replicas`` > 1 simulates private stores behind round robin.

    A longer history comes in blocks (see benchmarks/check_memory.py): each block from
    ``start`` on (after the previous one's last completion), its write ids marked with ``tag``,
    the replicas' ``stores`` carried over from the block before.
    """
    rng = random.Random(seed)
    clients, keys = 200, [f"p{i}" for i in range(50)]
    # Each client issues one op at a time; draw every op's interval and linearization point.
    planned: list[tuple[float, float, float, str, str, bool, str]] = []
    per_client = n_ops // clients
    for c in range(clients):
        client = f"u{c}"
        t = start + rng.random() * 0.01
        for i in range(per_client):
            latency = 0.001 + rng.random() * 0.019
            point = t + rng.random() * latency
            is_write = rng.random() < 0.3
            key = keys[int(rng.random() * len(keys))]
            planned.append((point, t, t + latency, client, key, is_write, f"{client}-{tag}{i}"))
            t += latency + rng.random() * 0.002
    planned.sort()
    if stores is None:
        stores = [{} for _ in range(replicas)]
    ops: list[Op] = []
    for n, (_, inv, comp, client, key, is_write, wid) in enumerate(planned):
        store = stores[n % replicas]
        replica = f"r{n % replicas + 1}"
        if is_write:
            price = int(rng.random() * 10_000)
            fate = rng.random()
            if fate < 0.001:  # refused before forwarding: certainly not applied
                ops.append(Op(client, "write", key, wid, price, inv, comp, 503, "fail", None))
                continue
            store[key] = (wid, price)
            outcome, status = ("unknown", None) if fate < 0.002 else ("ok", 200)
            ops.append(Op(client, "write", key, wid, price, inv, comp, status, outcome, replica))
        else:
            got = store.get(key)
            if got is None:
                ops.append(Op(client, "read", key, None, None, inv, comp, 404, "ok", replica))
            else:
                ops.append(Op(client, "read", key, got[0], got[1], inv, comp, 200, "ok", replica))
    return ops


def relayout(history: History) -> History:
    """The same history, each key's operations copied into objects allocated together.

    A msgpack round trip per key allocates every object of a key's operations (the struct, its
    floats and strings) one after the other; sorting the copies by invocation restores the
    order the checker expects.
    """
    by_key: dict[str, list[Op]] = {}
    for op in history.ops:
        by_key.setdefault(op.key, []).append(op)
    ops: list[Op] = []
    for key in sorted(by_key):
        ops += msgspec.msgpack.decode(msgspec.msgpack.encode(by_key[key]), type=list[Op])
    ops.sort(key=lambda op: op.invoke)
    return History(headers=history.headers, ops=ops)


def run(
    label: str, ops: list[Op], workdir: Path, *, relaid: bool = False, keep: bool = False
) -> None:
    path = workdir / f"{label}.jsonl"
    with HistoryWriter(path, wall_anchor=time.time(), mono_anchor=0.0) as writer:
        writer.write_all(ops)
    start, cpu_start = time.perf_counter(), time.process_time()
    history = read_history(path)
    load_s, load_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if relaid:
        history = relayout(history)
        label += " (relaid)"
    checking, cpu_checking = time.perf_counter(), time.process_time()
    result = check(history)
    check_s, check_cpu = time.perf_counter() - checking, time.process_time() - cpu_checking
    n = len(history.ops)
    print(
        f"{label:>10}: {n:,} ops  load {load_s:.2f} s (cpu {load_cpu:.2f} s)  "
        f"check {check_s:.2f} s (cpu {check_cpu:.2f} s)  "
        f"total {load_s + check_s:.2f} s ({n / (load_s + check_s):,.0f} ops/s, "
        f"cpu {load_cpu + check_cpu:.2f} s)  stale reads {result.counts['stale_read']:,}  "
        f"verdict {result.verdict}  "
        f"non-linearizable keys {sum(not v.linearizable for v in result.keys.values())}"
    )
    if not keep:
        path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--mode", choices=["both", "consistent", "stale"], default="both")
    parser.add_argument(
        "--gc-during-check",
        action="store_true",
        help="leave the cyclic garbage collector running during check(), to "
        "see whether pausing it still pays",
    )
    parser.add_argument(
        "--relayout",
        action="store_true",
        help="check a copy with each key's operations allocated together "
        "(an experiment on memory layout; the copying is not timed)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="write the histories to DIR (consistent.jsonl, stale.jsonl) and keep them, "
        "e.g. to measure `lbdemo check --history DIR/stale.jsonl` on its own",
    )
    args = parser.parse_args(argv)
    if args.gc_during_check:
        result_module.gc_paused = contextlib.nullcontext  # type: ignore[assignment]
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="lbdemo-check-speed-") as tmp:
        workdir = Path(tmp) if args.keep is None else args.keep
        workdir.mkdir(parents=True, exist_ok=True)
        for label, replicas in (("consistent", 1), ("stale", 3)):
            if args.mode in ("both", label):
                ops = generate(args.ops, replicas=replicas)
                run(label, ops, workdir, relaid=args.relayout, keep=args.keep is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
