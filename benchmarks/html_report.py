"""How big is the HTML report of a large run, and how soon is it usable in a browser?

    .venv/bin/python benchmarks/html_report.py [--ops 100000] [--runs 3]

Generates a synthetic history the way benchmarks/check_speed.py does (private stores behind
round robin, so a large share of reads are anomalies, each with its sentence in the page),
checks it, renders the report page, and opens it in headless Chromium (as the browser tests
do). Prints the file size, and the time until the page's script has drawn everything
(``performance.now()`` when it sets ``LBDEMO.ready``, so from navigation start), best and
median over ``--runs`` fresh loads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from check_speed import generate  # noqa: E402

from lbdemo.checker import check  # noqa: E402
from lbdemo.history import History, HistoryHeader  # noqa: E402
from lbdemo.report import build_report  # noqa: E402
from lbdemo.report.html import render_report_html  # noqa: E402
from tests.browser.chromium import chromium, console_errors, unavailable, wait_ready  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.ops < 1000 or args.runs < 1:
        print("html_report: --ops must be >= 1000 and --runs >= 1", file=sys.stderr)
        return 2
    reason = unavailable()
    if reason:
        print(f"html_report: {reason}", file=sys.stderr)
        return 2

    ops = sorted(generate(args.ops, replicas=3), key=lambda o: o.invoke)
    history = History(headers=[HistoryHeader(wall_anchor=time.time(), mono_anchor=0.0)], ops=ops)
    start = time.perf_counter()
    result = check(history)
    report = build_report(result, history, None, {"label": f"synthetic {args.ops:,} ops"})
    page = render_report_html(report, history, result)
    render_s = time.perf_counter() - start
    size = len(page.encode("utf-8"))
    anomalies = sum(result.counts.values())

    with tempfile.TemporaryDirectory(prefix="lbdemo-html-bench-") as tmp:
        path = Path(tmp) / "report.html"
        path.write_text(page, encoding="utf-8")
        times = []
        for _ in range(args.runs):
            with chromium() as driver:  # a fresh browser each time: no warm cache
                driver.get(path.as_uri())
                state = wait_ready(driver, timeout_s=60)
                errors = console_errors(driver)
                if state["error"] or errors:
                    print(
                        f"html_report: the page failed: {state['error'] or errors[0]}",
                        file=sys.stderr,
                    )
                    return 1
                times.append(state["readyMs"] / 1000.0)

    print(f"operations        {len(ops):,} ({anomalies:,} anomalies, every one with its sentence)")
    print(f"check + render    {render_s:.2f} s")
    print(f"HTML file size    {size / 1e6:.2f} MB ({size:,} bytes)")
    print(
        f"interactive after {min(times):.2f} s best, {statistics.median(times):.2f} s median "
        f"of {args.runs} loads in headless Chromium"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
