"""Load generators: ``wrk`` when installed (its ``--latency`` output parsed), else a built-in one.

Both answer with a :class:`LoadResult`: requests per second, latency percentiles in ms, errors.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from typing import Any

from lbdemo.errors import ProcessError
from lbdemo.report.stats import percentile


@dataclass(frozen=True)
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_DURATION = re.compile(r"^\s*([\d.]+)(us|ms|s|m)\s*$")


def _ms(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> LoadResult:
    """Read requests/s, p50, p99 and errors from ``wrk --latency`` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in ", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if not (rps and total and p50 and p99):
        raise ValueError("wrk output without requests/sec or latency distribution")
    errors = 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return LoadResult(
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        requests=int(total.group(1)),
        errors=errors,
    )


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(url: str, duration: float, connections: int, timeout: float = 60.0) -> LoadResult:
    """One ``wrk -t1 -cN -dS --latency URL`` run."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise ProcessError("wrk is not installed")
    argv = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", url]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=duration + timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ProcessError(f"wrk did not finish against {url}") from exc
    if done.returncode != 0:
        raise ProcessError(f"wrk failed against {url}: {done.stderr.strip()[:200]}")
    return parse_wrk(done.stdout)


async def _one_connection(
    host: str, port: int, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    request = f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        errors[0] += 1
        return
    try:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 2"):
                errors[0] += 1
            latencies.append(time.perf_counter() - start)
    except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        # ValueError: a Content-Length that is no number; the connection is no use after it.
        errors[0] += 1
    finally:
        writer.close()


async def run_builtin(
    targets: list[tuple[str, int]], duration: float, connections: int
) -> LoadResult:
    """Keep-alive GET / on ``connections`` connections spread over ``targets``, for ``duration``.

    Python is slower than wrk: the numbers are comparable with each other, not with wrk's.
    """
    latencies: list[float] = []
    errors = [0]
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(
        *(
            _one_connection(*targets[i % len(targets)], deadline, latencies, errors)
            for i in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return LoadResult(
        rps=len(latencies) / elapsed if elapsed > 0 else 0.0,
        p50_ms=(percentile(latencies, 50) or 0.0) * 1000,
        p99_ms=(percentile(latencies, 99) or 0.0) * 1000,
        requests=len(latencies),
        errors=errors[0],
    )
