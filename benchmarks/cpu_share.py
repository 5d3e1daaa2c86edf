"""Where the CPU goes during one load through the balancer: Locust, the balancer, the replicas,
PostgreSQL, the rest of the machine.

    .venv/bin/python benchmarks/cpu_share.py [--replicas 3] [--users 100] [--duration 20]

Starts ``lbdemo up -d --storage shared`` on a temporary state root, runs ``lbdemo load`` against
it, and between two snapshots of every process's CPU time (``/proc/PID/stat``, utime + stime)
taken inside the load (after a few seconds of warm-up, before its end) adds up each group's CPU
seconds. A single-threaded process near 100 % of one core is saturated whatever the machine's
idle share says. Prints a Markdown table, the machine's idle share (``/proc/stat``) and the
load average; ``lbdemo down`` at the end, also on failure or Ctrl-C. Linux only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from lbdemo.process.options import OneLineParser

TICK = os.sysconf("SC_CLK_TCK")
WARM_UP_S = 4.0  # Locust spawns its users and the replicas' pools fill before the window
GROUPS = ("Locust", "balancer", "replicas", "PostgreSQL", "lbdemo load (driver)", "other")


def _group(pid: int, comm: str) -> str:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        args = ""
    if "-m locust" in args:
        return "Locust"
    if "lbdemo.balancer" in args:
        return "balancer"
    if "lbdemo.replica" in args:
        return "replicas"
    if comm == "postgres" or "bin/postgres" in args:
        return "PostgreSQL"
    if "lbdemo load" in args or args.endswith("lbdemo load"):
        return "lbdemo load (driver)"
    return "other"


def snapshot() -> dict[int, tuple[str, float]]:
    """pid -> (group, CPU seconds so far) for every process on the machine."""
    out: dict[int, tuple[str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue  # gone between the listing and the read
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
        out[int(entry.name)] = (_group(int(entry.name), comm), cpu)
    return out


def machine_busy() -> tuple[float, float]:
    """(all, idle) jiffies of the whole machine from /proc/stat."""
    parts = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return float(sum(parts)), float(parts[3] + parts[4])  # idle + iowait


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="cpu_share.py", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args(argv)
    if args.duration < WARM_UP_S + 4:
        print(
            f"cpu_share.py: error: --duration must be at least {WARM_UP_S + 4:g}", file=sys.stderr
        )
        return 2
    base = [sys.executable, "-m", "lbdemo"]
    with tempfile.TemporaryDirectory(prefix="lbdemo-cpu-") as state:
        load = None
        try:
            subprocess.run(
                [*base, "up", "-d", "--state", state, "--port", "0", "--storage", "shared",
                 "--replicas", str(args.replicas)],
                check=True, capture_output=True, timeout=180,
            )  # fmt: skip
            load_before = os.getloadavg()
            load = subprocess.Popen(
                [*base, "load", "--state", state, "--users", str(args.users),
                 "--duration", f"{args.duration:g}", "--out", f"{state}/out"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            time.sleep(WARM_UP_S)
            first, m_first, t_first = snapshot(), machine_busy(), time.monotonic()
            time.sleep(args.duration - WARM_UP_S - 2.0)
            last, m_last, t_last = snapshot(), machine_busy(), time.monotonic()
            output, _ = load.communicate(timeout=args.duration + 180)
            load_after = os.getloadavg()
        except subprocess.CalledProcessError as exc:
            print(f"cpu_share.py: error: lbdemo up exited with {exc.returncode}", file=sys.stderr)
            return 1
        finally:
            if load is not None and load.poll() is None:
                load.terminate()
                load.wait(timeout=30)
            subprocess.run([*base, "down", "--state", state], capture_output=True, timeout=60)
    window = t_last - t_first
    cpu: dict[str, float] = defaultdict(float)
    top: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for pid, (group, seconds) in last.items():
        spent = seconds - (first[pid][1] if pid in first else 0.0)
        cpu[group] += spent
        top[group] = max(top[group], spent)
        count[group] += spent > 0
    all_j, idle_j = m_last[0] - m_first[0], m_last[1] - m_first[1]
    print(
        f"Window {window:.1f} s inside {args.duration:g} s of load, {args.users} users, "
        f"{args.replicas} replicas, shared storage, {os.cpu_count()} CPUs; load average before "
        f"{', '.join(f'{v:.2f}' for v in load_before)}, after "
        f"{', '.join(f'{v:.2f}' for v in load_after)}; machine idle "
        f"{idle_j / all_j * 100:.0f} %.\n"
    )
    print("| group | processes using CPU | CPU s | cores used | busiest process, % of a core |")
    print("|---|---:|---:|---:|---:|")
    for group in GROUPS:
        print(
            f"| {group} | {count[group]} | {cpu[group]:.1f} | {cpu[group] / window:.2f} | "
            f"{top[group] / window * 100:.0f} |"
        )
    summary = [line for line in output.splitlines() if "ops" in line or "verdict" in line.lower()]
    print("\n`lbdemo load` said:\n")
    for line in summary[-3:]:
        print(f"    {line.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
