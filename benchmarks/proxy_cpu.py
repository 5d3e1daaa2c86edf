"""CPU time per request of every process behind each proxy: where `lbdemo bench`'s ratios come from.

    .venv/bin/python benchmarks/proxy_cpu.py [--rounds 3] [--duration 5] [--no-compiled]

Starts the bench's three replicas, this balancer as Python, the same balancer compiled (the
build `lbdemo compile` makes in ./.lbdemo/compiled, made now if missing; skipped with
``--no-compiled`` or when it cannot be built) and nginx when installed, as `lbdemo bench` does
(``lbdemo.bench.runner.start_targets``, which also starts HAProxy when installed: it stays
idle here). Each round runs ``wrk -t1 -c32 --latency`` against every proxy in turn (order
alternating) and reads the CPU time (utime and stime from ``/proc/PID/stat``) of the proxy
(nginx: master and worker), of the three replicas and of wrk itself (``RUSAGE_CHILDREN``)
before and after, divided by the requests wrk counted. On a machine whose cores are all busy
during the load, throughput is the cores' time divided by the sum of these figures, so a
microsecond per request anywhere is a few percent of requests per second. Prints a Markdown
table (one row per round and proxy, with latency percentiles from wrk's Lua `done` hook) and
the load average. Every process is stopped by pid, also on failure or Ctrl-C. Linux only.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from lbdemo.balancer.native_build import build, missing_build_tool
from lbdemo.bench.loadgen import LoadResult, parse_wrk
from lbdemo.bench.runner import Target, start_targets
from lbdemo.config import COMPILED_DIR, DEFAULT_STATE_DIR
from lbdemo.process.children import Children
from lbdemo.process.options import OneLineParser

TICK = os.sysconf("SC_CLK_TCK")
MEASURED = ("lbdemo", "lbdemo-compiled", "nginx")
PERCENTILES = (50, 90, 98, 99, 99.9)
# wrk's Lua hook: after the run, the latency percentiles wrk's own table leaves out.
PERCENTILES_LUA = (
    "done = function(summary, latency, requests)\n"
    "  for _, p in ipairs({" + ", ".join(f"{p:g}" for p in PERCENTILES) + "}) do\n"
    '    io.write(string.format("percentile %g %.3f\\n", p, latency:percentile(p) / 1000))\n'
    "  end\n"
    "end\n"
)


def _cpu_ticks(pid: int) -> tuple[int, int]:
    """utime and stime of ``pid`` and its children that are alive (nginx's worker)."""
    pids = [pid]
    for task in os.listdir(f"/proc/{pid}/task"):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    user = system = 0
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        user += int(fields[11])
        system += int(fields[12])
    return user, system


def _wrk(
    port: int, duration: int, script: Path
) -> tuple[LoadResult, dict[float, float], float, float]:
    url = f"http://127.0.0.1:{port}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{duration}s", "--latency", "-s", str(script), f"{url}/"],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    percentiles = {
        float(words[1]): float(words[2])
        for words in (line.split() for line in done.stdout.splitlines())
        if len(words) == 3 and words[0] == "percentile"
    }
    return parse_wrk(done.stdout), percentiles, user, system


def _start(
    children: Children, workdir: Path, compiled: Path | None
) -> tuple[list[Target], list[int]]:
    """The bench's targets (lbdemo bench starts the same): the proxies measured here, and the
    replicas' pids. HAProxy, when installed, is started with them but left idle."""
    targets = start_targets(children, workdir, [], lambda _: None, compiled)
    proxies = [t for t in targets if t.name in MEASURED]
    return proxies, next(t for t in targets if t.name == "direct").pids


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="proxy_cpu.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per measurement")
    parser.add_argument("--no-compiled", action="store_true")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.duration < 1:
        parser.error("--rounds and --duration must be at least 1")
    compiled = None
    if not args.no_compiled:
        why = missing_build_tool()
        if why is None:
            compiled = Path(DEFAULT_STATE_DIR, COMPILED_DIR).resolve()
            build(compiled)
        else:
            print(f"lbdemo-compiled skipped: {why}", file=sys.stderr)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print()
    latency_columns = " | ".join(f"p{p:g} ms" for p in PERCENTILES)
    print(
        f"| round | proxy | requests/s | {latency_columns} | proxy user µs | proxy system µs "
        "| replicas µs | wrk µs | all µs |"
    )
    print("|---:|---|---:|" + "---:|" * len(PERCENTILES) + "---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="lbdemo-proxy-cpu-") as tmp:
        script = Path(tmp) / "percentiles.lua"
        script.write_text(PERCENTILES_LUA)
        children = Children(Path(tmp))
        try:
            proxies, replica_pids = _start(children, Path(tmp), compiled)
            for proxy in proxies:  # warm-up: pools filled, the interpreter specialised
                _wrk(proxy.urls[0][1], 1, script)
            for round_no in range(1, args.rounds + 1):
                order = proxies if round_no % 2 else list(reversed(proxies))
                for proxy in order:
                    p0 = _cpu_ticks(proxy.pids[0])
                    r0 = [_cpu_ticks(pid) for pid in replica_pids]
                    measured = _wrk(proxy.urls[0][1], args.duration, script)
                    result, latency, wrk_user, wrk_system = measured
                    p1 = _cpu_ticks(proxy.pids[0])
                    r1 = [_cpu_ticks(pid) for pid in replica_pids]
                    n = max(result.requests, 1)

                    def per_request(ticks: float, n: int = n) -> float:
                        return ticks / TICK / n * 1e6

                    user = per_request(p1[0] - p0[0])
                    system = per_request(p1[1] - p0[1])
                    replicas = per_request(
                        sum(b[0] + b[1] - a[0] - a[1] for a, b in zip(r0, r1, strict=True))
                    )
                    wrk = (wrk_user + wrk_system) / n * 1e6
                    print(
                        f"| {round_no} | {proxy.name} | {result.rps:.0f} | "
                        + " | ".join(f"{latency[float(p)]:.2f}" for p in PERCENTILES)
                        + f" | {user:.1f} | {system:.1f} | {replicas:.1f} | {wrk:.1f} "
                        f"| {user + system + replicas + wrk:.1f} |",
                        flush=True,
                    )
        finally:
            children.stop_all()
    print()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
