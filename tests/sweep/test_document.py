"""sweep.md and sweep.html from a document: every run a row with its link, the model beside the
measurement, a categorical parameter on slots of its own, and text from outside escaped."""

from __future__ import annotations

from typing import Any

from lbdemo.sweep.chart import render_sweep_html
from lbdemo.sweep.document import render_sweep_markdown


def _run(
    label: str, stale: float, model: float | None, bounds: tuple[float, float] | None
) -> dict[str, Any]:
    return {
        "layout": label,
        "label": label,
        "report": f"strategy=x/{label}.md",
        "verdict": "inconsistent" if stale else "consistent",
        "reads": 100,
        "ops_per_s": 1000.0 + stale * 1000,
        "stale_read_rate": stale,
        "read_your_writes_rate": stale / 2,
        "monotonic_read_rate": stale / 4,
        "latency_ms": {"reads": {"p50": 5.0, "p99": 9.0}, "writes": {"p50": 6.0, "p99": 11.0}},
        "lag_ms": None,
        "model": {
            "kind": "k",
            "stale_read_rate": model,
            "stale_read_rate_low": bounds and bounds[0],
            "stale_read_rate_high": bounds and bounds[1],
        },
    }


DOCUMENT = {
    "format": "lbdemo-sweep/1",
    "command": "lbdemo sweep --vary strategy=round-robin,sticky",
    "vary": [{"name": "strategy", "values": ["round-robin", "sticky"]}],
    "layouts": ["private", "shared"],
    "duration_s": 10.0,
    "took_s": 80.0,
    "load_average": {"before": [1.0, 1.0, 1.0], "after": None},
    "points": [
        {
            "point": f"strategy={s}",
            "values": {"strategy": s},
            "runs": [
                _run("private", 0.4, m, m and (m - 0.02, m + 0.1)),
                _run("sha<red>", 0.0, 0.0, None),
            ],
        }
        for s, m in (("round-robin", 0.42), ("sticky", None))
    ],
    "problems": ["strategy=sticky: <b>not</b> shown"],
}


def test_the_markdown_has_a_row_and_a_link_per_run_and_the_gap() -> None:
    text = render_sweep_markdown(DOCUMENT)
    assert text.count("[private](<strategy=x/private.md>)") == 2
    row = next(line for line in text.splitlines() if line.startswith("| strategy=round-robin"))
    cells = [c.strip() for c in row.split("|")]
    assert cells[3:7] == ["40.0 %", "42.0 %", "40.0 %", "52.0 %"]  # measured, model, bounds
    assert cells[7] == "-2.0"  # measured - model, in percentage points
    assert "[sha\\<red\\>](<strategy=x/sha%3Cred%3E.md>)" in text


def test_the_page_draws_slots_for_words_and_the_model_where_there_is_one() -> None:
    page = render_sweep_html(DOCUMENT, numeric=False, x_title="strategy")
    assert ">round-robin</text>" in page and ">sticky</text>" in page
    assert page.count("<polygon") == 1  # private's band; shared's model has no other bound
    assert "sha&lt;red&gt;" in page and "<red>" not in page
    assert "&lt;b&gt;not&lt;/b&gt;" in page
    throughput = page[page.index("Throughput through the balancer") :]
    assert 'aria-label="operations per second against strategy"' in throughput
    assert "1,400</title>" in throughput  # private's 1,400 ops/s drawn as a point
