"""The checker at scale: peak memory per operation and the time of ``lbdemo check --history``.

    .venv/bin/python benchmarks/check_scale.py [--ops 1000000 10000000] [--stale-ops 1000000]
        [--runs 5] [--large-runs 2] [--against REF] [--old-max-ops 1000000] [--dir DIR]
        [--write results/scale.md]

For each size, a synthetic history (the shape of benchmarks/check_speed.py: 200 clients, 50
keys, 30 % writes; ``consistent``: one store, ``stale``: three private stores behind round
robin) is written in blocks of a million operations by a child process, so that the measuring
process never holds one (a child's peak RSS starts from its parent's). It is then checked by
``lbdemo check --history FILE`` in a child process (report to /dev/null), alternately by this
tree's checker ("new") and by the checker of commit ``--against`` ("old": a temporary git
worktree of that commit, run by the same interpreter with the same packages), run after run:
on a busy machine both meet the same neighbours, so the ratio of a pair means something when
the seconds alone do not. The old checker is run up to ``--old-max-ops`` (it needs about 570
bytes per operation: 5.7 GB for ten million).

Per run: the child's peak resident set size, the bytes per operation over the interpreter's
baseline (the peak of the same command, same checker, on a history of 200 operations: the
interpreter, its imports, the reader's buffers), its CPU seconds (user + sys), its wall clock,
and the 1-minute load average before and after. Then a summary per history and checker
(medians), and the paired ratios. ``--write FILE`` puts the whole output, as a Markdown section
of its own ("The checker"), into FILE (results/scale.md), replacing the one a previous run wrote
and leaving the rest of the file as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import check_blocks

ROOT = Path(__file__).resolve().parents[1]
# The checker before issue 25's work on it: an Op object per operation, about 570 bytes each.
BEFORE = "2bb1e762a85754a5accbe4cc38aa603e7418c987"
BEGIN = "<!-- checker: written by benchmarks/check_scale.py; run it again to replace -->"
END = "<!-- checker: end -->"


@dataclass(frozen=True, slots=True)
class Run:
    rss: int  # bytes
    cpu: float  # user + sys seconds
    wall: float
    load_before: float
    load_after: float


def measure(argv: list[str], cwd: Path) -> Run:
    """One child process: its peak RSS, CPU and wall clock, and the load around it."""
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(argv, stdout=devnull, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: an inconsistent verdict, as expected of a stale history
        raise SystemExit(f"{shlex.join(argv)} exited {code}")
    return Run(
        usage.ru_maxrss * 1024,
        usage.ru_utime + usage.ru_stime,
        wall,
        load_before,
        os.getloadavg()[0],
    )


@contextlib.contextmanager
def old_tree(ref: str) -> Iterator[Path]:
    """A temporary worktree of ``ref`` (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="lbdemo-old-checker-") as tmp:
        path = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), ref],
            check=True,
        )
        try:
            yield path
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=True
            )


def command(history: Path) -> list[str]:
    """``lbdemo check --history``, run with the tree as its working directory: ``-m`` puts the
    working directory first on sys.path, so the tree's own lbdemo is the one imported."""
    return [sys.executable, "-m", "lbdemo", "check", "--history", str(history)]


def write_section(path: Path, lines: list[str], begin: str = BEGIN, end: str = END) -> None:
    """Put ``lines`` into ``path`` between ``begin`` and ``end``, in place of what a previous
    run put there (else at the end); the rest of the file stays as it was."""
    text = "\n".join([begin, *lines, end]) + "\n"
    old = path.read_text() if path.exists() else "# Scale\n\n"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        new = head + text + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--stale-ops", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--runs", type=int, default=5, help="runs per checker up to 1 M ops")
    parser.add_argument("--large-runs", type=int, default=2, help="runs above 1 M ops")
    parser.add_argument("--against", default=BEFORE, help="the old checker's commit")
    parser.add_argument("--old-max-ops", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, help="write (and keep) the histories here")
    parser.add_argument("--write", type=Path, help="put the output into this Markdown file")
    args = parser.parse_args(argv)
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    jobs = [("consistent", n) for n in args.ops] + [("stale", n) for n in args.stale_ops]
    with contextlib.ExitStack() as stack:
        workdir = args.dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        old = stack.enter_context(old_tree(args.against))
        trees = {"new": ROOT, "old": old}
        tiny = workdir / "baseline-200.jsonl"
        check_blocks.write_in_child(tiny, 200, replicas=1)
        baseline = {name: measure(command(tiny), t).rss for name, t in trees.items()}
        say("## The checker at ten million")
        say()
        say(f"`{shlex.join(['python', 'benchmarks/check_scale.py', *(argv or sys.argv[1:])])}`")
        say(f"on {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M %Z')}; ")
        say(f"new: this tree; old: commit {args.against[:12]} (before issue 25).")
        say(
            "Baseline peak RSS (`lbdemo check` of 200 operations): "
            + ", ".join(f"{name} {rss / 1e6:.1f} MB" for name, rss in baseline.items())
            + "."
        )
        say()
        say(
            "| history | ops | checker | peak RSS MB | B/op over baseline | CPU s | wall s | load |"
        )
        say("|---|---:|---|---:|---:|---:|---:|---|")
        results: dict[tuple[str, int, str], list[Run]] = {}
        for label, n in jobs:
            path = workdir / f"{label}-{n}.jsonl"
            if not path.exists():
                check_blocks.write_in_child(path, n, replicas=1 if label == "consistent" else 3)
            runs = args.runs if n <= 1_000_000 else args.large_runs
            names = ["old", "new"] if n <= args.old_max_ops else ["new"]
            for _ in range(runs):
                for name in names:  # alternate: each pair meets the same load
                    run = measure(command(path), trees[name])
                    results.setdefault((label, n, name), []).append(run)
                    say(
                        f"| {label} | {n:,} | {name} | {run.rss / 1e6:.1f} | "
                        f"{(run.rss - baseline[name]) / n:.0f} | {run.cpu:.2f} | {run.wall:.2f} | "
                        f"{run.load_before:.1f} → {run.load_after:.1f} |"
                    )
        say()
        say("Medians, and the paired ratio new/old (median over the pairs of runs):")
        say()
        say(
            "| history | ops | checker | B/op over baseline | CPU s | wall s "
            "| new/old CPU | new/old wall |"
        )
        say("|---|---:|---|---:|---:|---:|---:|---:|")
        for (label, n, name), runs_of in results.items():
            ratio_cpu = ratio_wall = "-"
            if name == "new" and (label, n, "old") in results:
                pairs = list(zip(runs_of, results[(label, n, "old")], strict=False))
                ratio_cpu = f"{statistics.median(a.cpu / b.cpu for a, b in pairs):.2f}"
                ratio_wall = f"{statistics.median(a.wall / b.wall for a, b in pairs):.2f}"
            say(
                f"| {label} | {n:,} | {name} | "
                f"{statistics.median((r.rss - baseline[name]) / n for r in runs_of):.0f} | "
                f"{statistics.median(r.cpu for r in runs_of):.2f} | "
                f"{statistics.median(r.wall for r in runs_of):.2f} | {ratio_cpu} | {ratio_wall} |"
            )
    if args.write:
        write_section(args.write, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
