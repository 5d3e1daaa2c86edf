"""One benchmark run: start replicas and proxies once, measure them in alternating rounds, report.

Targets are measured one at a time with the same load; the order flips every round so a slow
drift of the machine (other work, thermal) does not always favour the same target. Every target
first gets the same short warm-up (connection pools filled, interpreters specialised), which is
not recorded. Besides the ratio of medians, the report gives the median of per-round ratios to
nginx: measurements of one round are close in time, so other work on the machine skews them
alike.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import platform
import shlex
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lbdemo import __version__
from lbdemo.balancer.native import COMPILED_ENV, compiler_version
from lbdemo.balancer.native_build import build
from lbdemo.bench import loadgen
from lbdemo.bench.loadgen import LoadResult
from lbdemo.bench.peers import haproxy_command, nginx_command, version_of
from lbdemo.errors import ProcessError
from lbdemo.files import write_json, write_text
from lbdemo.process.children import Children
from lbdemo.process.ports import free_port, wait_port
from lbdemo.report.provenance import run_provenance

REPORT_FORMAT = "lbdemo-bench/1"


@dataclass(frozen=True)
class BenchConfig:
    duration: float = 5.0
    rounds: int = 3
    warmup: float = 1.0  # seconds of load per target before the first round, not recorded
    connections: int = 32
    out_dir: Path = Path("results")
    use_wrk: bool = True
    command: str = "lbdemo bench"
    # A directory of compiled data-path builds (lbdemo compile), where one of today's sources
    # is made if missing: the balancer is measured a second time, compiled, as
    # "lbdemo-compiled". None: interpreted only.
    compiled: Path | None = None
    notes: tuple[str, ...] = ()  # said before the run (e.g. why there is no compiled row)


@dataclass(frozen=True)
class _Round:
    result: LoadResult
    loadavg_1m: float  # the machine's 1-minute load average just before the round


@dataclass
class Target:
    """One thing measured: a proxy (its process in ``pids``) or the replicas directly."""

    name: str
    urls: list[tuple[str, int]]
    rounds: list[_Round] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)  # for CPU accounting (benchmarks/proxy_cpu.py)

    @property
    def results(self) -> list[LoadResult]:
        return [r.result for r in self.rounds]


def _port_of(url: object) -> int:
    return int(str(url).rsplit(":", 1)[1])


def _pid_of(ready: dict[str, object]) -> int:
    return int(str(ready["pid"]))


def _measure(target: Target, config: BenchConfig, with_wrk: bool) -> LoadResult:
    if not with_wrk:
        return asyncio.run(loadgen.run_builtin(target.urls, config.duration, config.connections))
    if len(target.urls) == 1:
        host, port = target.urls[0]
        return loadgen.run_wrk(f"http://{host}:{port}/", config.duration, config.connections)
    # wrk speaks to one address: hit the replicas directly with one wrk each, at the same time.
    return _parallel_wrk(target.urls, config)


def _parallel_wrk(urls: list[tuple[str, int]], config: BenchConfig) -> LoadResult:
    import concurrent.futures

    share = [
        config.connections // len(urls) + (i < config.connections % len(urls))
        for i in range(len(urls))
    ]
    with concurrent.futures.ThreadPoolExecutor(len(urls)) as pool:
        results = list(
            pool.map(
                lambda item: loadgen.run_wrk(
                    f"http://{item[0][0]}:{item[0][1]}/", config.duration, item[1]
                ),
                zip(urls, share, strict=True),
            )
        )
    total = sum(r.requests for r in results)
    return LoadResult(
        rps=sum(r.rps for r in results),
        p50_ms=sum(r.p50_ms * r.requests for r in results) / total if total else 0.0,
        p99_ms=max(r.p99_ms for r in results),
        requests=total,
        errors=sum(r.errors for r in results),
    )


def _summary(target: Target) -> dict[str, Any]:
    results = target.results
    return {
        "rps": round(statistics.median(r.rps for r in results), 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in results), 3),
        "p99_ms": round(statistics.median(r.p99_ms for r in results), 3),
        "errors": sum(r.errors for r in results),
        "rounds": [{**r.result.to_json(), "loadavg_1m": r.loadavg_1m} for r in target.rounds],
    }


def _paired_ratio(mine: list[LoadResult], nginx: list[LoadResult], field_name: str) -> float:
    """The median over rounds of mine/nginx, each pair measured in the same round."""
    ratios = [
        getattr(a, field_name) / getattr(b, field_name)
        for a, b in zip(mine, nginx, strict=False)
        if getattr(b, field_name)
    ]
    return round(statistics.median(ratios), 3) if ratios else 0.0


def _short(version: str | None) -> str | None:
    """The name and version from a tool's banner, e.g. 'nginx/1.22.1' or 'HAProxy 2.6.12'."""
    if version is None:
        return None
    words = version.replace("version:", "").replace("version", "").split()
    if len(words) > 1 and words[1].lower().startswith(words[0].lower()):
        return words[1]  # "nginx nginx/1.22.1"
    return " ".join(words[:2])


def machine_info() -> dict[str, Any]:
    import aiohttp
    import httptools

    try:
        import uvloop

        uvloop_version: str | None = uvloop.__version__
    except ImportError:
        uvloop_version = None
    return {
        "nproc": os.cpu_count(),
        # Other work on the machine skews every number; the load average at least shows it.
        # Taken when the report is made, at the end; the report adds the one from the start.
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "lbdemo": __version__,
        "uvloop": uvloop_version,
        "httptools": httptools.__version__,
        "aiohttp": aiohttp.__version__,
        "nginx": _short(version_of(["nginx", "-v"])),
        "haproxy": _short(version_of(["haproxy", "-v"])),
        "wrk": _short(version_of(["wrk", "--version"])),
    }


def run(config: BenchConfig, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run the whole benchmark and return the report (also written to ``config.out_dir``)."""
    config.out_dir.mkdir(parents=True, exist_ok=True)  # an unwritable --out fails now, not after
    notes: list[str] = list(config.notes)
    if config.compiled is not None:
        progress(f"compiling the data path with mypyc into {config.compiled} (once per change)")
        build(config.compiled)
    load_before = round(os.getloadavg()[0], 2)  # after the compiler, which loads the machine
    with_wrk = config.use_wrk and loadgen.wrk_available()
    if not with_wrk:
        notes.append("wrk not installed (or --no-wrk): built-in Python load generator used")
    with tempfile.TemporaryDirectory(prefix="lbdemo-bench-") as tmp:
        workdir = Path(tmp)
        children = Children(workdir)
        try:
            targets = start_targets(children, workdir, notes, progress, config.compiled)
            if config.warmup > 0:
                warmup = dataclasses.replace(config, duration=config.warmup)
                for target in targets:
                    progress(f"warm-up: {target.name}")
                    _measure(target, warmup, with_wrk)
            for round_no in range(config.rounds):
                order = targets if round_no % 2 == 0 else list(reversed(targets))
                for target in order:
                    progress(f"round {round_no + 1}/{config.rounds}: {target.name}")
                    load = round(os.getloadavg()[0], 2)
                    target.rounds.append(_Round(_measure(target, config, with_wrk), load))
        finally:
            children.stop_all()
    report = _report(config, targets, notes, with_wrk, load_before)
    write_report(report, config.out_dir)
    return report


def start_targets(
    children: Children,
    workdir: Path,
    notes: list[str],
    progress: Callable[[str], None],
    compiled: Path | None = None,
) -> list[Target]:
    """Start the three replicas and every proxy in front of them (each stopped by the caller's
    ``children``); the last target is the replicas themselves, ``direct``."""
    python = sys.executable
    progress("starting 3 replicas")
    replica_ports, replica_pids = [], []
    for i in (1, 2, 3):
        ready = children.start_with_ready_line(
            f"replica-r{i}", [python, "-m", "lbdemo.bench.replica", "--name", f"r{i}"]
        )
        replica_ports.append(_port_of(ready["url"]))
        replica_pids.append(_pid_of(ready))
    ups = [f"--upstream=r{i}=http://127.0.0.1:{p}" for i, p in enumerate(replica_ports, 1)]
    ready = children.start_with_ready_line(
        "lbdemo", [python, "-m", "lbdemo.balancer", "--listen", "127.0.0.1:0", *ups]
    )
    targets = [Target("lbdemo", [("127.0.0.1", _port_of(ready["url"]))], pids=[_pid_of(ready)])]
    if compiled is not None:
        progress("starting lbdemo-compiled")
        ready = children.start_with_ready_line(
            "lbdemo-compiled",
            [python, "-m", "lbdemo.balancer", "--listen", "127.0.0.1:0", *ups],
            env={COMPILED_ENV: str(compiled)},
        )
        # The balancer falls back to Python when the build does not match its sources; a row
        # called "compiled" must not measure that.
        if ready.get("data_path") != "compiled":
            raise ProcessError(f"the balancer did not load the compiled build in {compiled}")
        url = ("127.0.0.1", _port_of(ready["url"]))
        targets.append(Target("lbdemo-compiled", [url], pids=[_pid_of(ready)]))
    for name, make in (("nginx", nginx_command), ("haproxy", haproxy_command)):
        peer = make(workdir, free_port(), replica_ports)
        if peer is None:
            notes.append(f"{name} not installed: skipped")
            continue
        progress(f"starting {name}")
        proc = children.start(name, peer.argv)
        wait_port(name, peer.port, proc)
        targets.append(Target(name, [("127.0.0.1", peer.port)], pids=[proc.pid]))
    targets.append(Target("direct", [("127.0.0.1", p) for p in replica_ports], pids=replica_pids))
    return targets


def _report(
    config: BenchConfig,
    targets: list[Target],
    notes: list[str],
    with_wrk: bool,
    loadavg_1m_before: float,
) -> dict[str, Any]:
    results = {t.name: _summary(t) for t in targets if t.rounds}
    ratios: dict[str, dict[str, float]] = {}
    nginx = results.get("nginx")
    nginx_rounds = next((t.results for t in targets if t.name == "nginx"), [])
    if nginx:
        for target in targets:
            if not target.rounds:
                continue
            summary = results[target.name]
            ratios[target.name] = {
                "rps": round(summary["rps"] / nginx["rps"], 3) if nginx["rps"] else 0.0,
                "p99": round(summary["p99_ms"] / nginx["p99_ms"], 3) if nginx["p99_ms"] else 0.0,
                "rps_paired": _paired_ratio(target.results, nginx_rounds, "rps"),
                "p99_paired": _paired_ratio(target.results, nginx_rounds, "p99_ms"),
            }
    else:
        notes.append("no nginx in this run: no ratios")
    return {
        "format": REPORT_FORMAT,
        "run": run_provenance(shlex.split(config.command)[1:], postgresql=None),
        "command": config.command,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {**machine_info(), "loadavg_1m_before": loadavg_1m_before},
        "settings": {
            "duration_s": config.duration,
            "rounds": config.rounds,
            "warmup_s": config.warmup,
            "connections": config.connections,
            "load_generator": "wrk -t1 --latency" if with_wrk else "built-in (asyncio)",
            "compiled_with": f"mypyc {compiler_version()}" if config.compiled else None,
        },
        "results": results,
        "ratios_to_nginx": ratios,
        "notes": notes,
    }


def _versions(machine: dict[str, Any]) -> list[str]:
    """What was installed, e.g. 'uvloop 0.21.0', 'nginx/1.22.1'; a missing tool is left out."""
    libraries = [f"{name} {machine[name]}" for name in ("uvloop", "httptools", "aiohttp")]
    tools = [machine[name] for name in ("nginx", "haproxy", "wrk")]  # banners carry the name
    return [v for v in libraries if not v.endswith(" None")] + [t for t in tools if t]


def _tool_versions(report: dict[str, Any]) -> list[str]:
    compiled = report["settings"].get("compiled_with")
    return _versions(report["machine"]) + ([compiled] if compiled else [])


def render_markdown(report: dict[str, Any]) -> str:
    settings = report["settings"]
    machine = report["machine"]
    lines = [
        "# Benchmark: lbdemo balancer vs nginx vs HAProxy",
        "",
        f"- command: `{report['command']}`",
        f"- date: {report['date']}",
        f"- machine: {machine['nproc']} CPUs (1-min load average "
        f"{machine['loadavg_1m_before']} before the bench started; "
        "the bench itself keeps about 3 processes busy), "
        f"{machine['platform']}, Python {machine['python']}",
        f"- versions: {', '.join(_tool_versions(report))}",
        f"- load: {settings['load_generator']}, {settings['connections']} connections, "
        f"{settings['warmup_s']:g} s warm-up, then "
        f"{settings['duration_s']} s x {settings['rounds']} rounds per target (order alternates); "
        "medians shown; *paired* = median of the per-round ratios",
        "- three aiohttp replicas answer `GET /` with 6 bytes; every proxy: 1 worker, round robin,"
        " keep-alive upstream, adds X-Forwarded-For and -Proto; `lbdemo` = this balancer as"
        " Python, `lbdemo-compiled` = the same source with its data path compiled by mypyc"
        " (`lbdemo compile`); `direct` = the replicas without a proxy (the ceiling)",
        "",
        "| target | requests/s | p50 ms | p99 ms | errors | rps / nginx | p99 / nginx "
        "| rps / nginx, paired | p99 / nginx, paired |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ratios = report["ratios_to_nginx"]
    for name, summary in report["results"].items():
        ratio = ratios.get(name, {})
        lines.append(
            f"| {name} | {summary['rps']:.0f} | {summary['p50_ms']:.2f} | {summary['p99_ms']:.2f} "
            f"| {summary['errors']} | {ratio.get('rps', '-')} | {ratio.get('p99', '-')} "
            f"| {ratio.get('rps_paired', '-')} | {ratio.get('p99_paired', '-')} |"
        )
    per_round = [
        f"{name}: " + ", ".join(f"{r['rps']:.0f}" for r in summary["rounds"])
        for name, summary in report["results"].items()
    ]
    lines += ["", "Requests/s per round (in the order measured within each target):", ""]
    lines += [f"- {line}" for line in per_round]
    if report["notes"]:
        lines += ["", "Notes:", *(f"- {note}" for note in report["notes"])]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out_dir: Path) -> None:
    """``bench.json`` (through the project's one JSON writer) and ``bench.md`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "bench.json", report)
    write_text(out_dir / "bench.md", render_markdown(report))
