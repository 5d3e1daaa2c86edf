"""``sweep.json`` (format ``lbdemo-sweep/1``, docs/schemas/) and ``sweep.md``: every point's
measured rates beside the model's, and a link to each run's report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lbdemo.report.markdown import md_code, md_text, padded_table
from lbdemo.report.provenance import load_average
from lbdemo.sweep.params import Axis

SWEEP_FORMAT = "lbdemo-sweep/1"


def sweep_document(
    axes: Sequence[Axis],
    layouts: Sequence[str],
    duration_s: float,
    command: str,
    records: list[dict[str, Any]],
    problems: list[str],
    took_s: float,
    load_before: list[float] | None,
) -> dict[str, Any]:
    return {
        "format": SWEEP_FORMAT,
        "command": command,
        "vary": [{"name": a.name, "values": list(a.values)} for a in axes],
        "layouts": list(layouts),
        "duration_s": duration_s,
        "took_s": round(took_s, 1),
        "load_average": {"before": load_before, "after": load_average()},
        "points": records,
        "problems": problems,
    }


def percent(rate: Any) -> str:
    return "–" if rate is None else f"{rate * 100:.1f} %"


def _ms(value: Any) -> str:
    return "–" if value is None else f"{value:,.1f}"


def _gap(run: dict[str, Any]) -> str:
    measured, model = run["stale_read_rate"], run["model"]["stale_read_rate"]
    if measured is None or model is None:
        return "–"
    return f"{(measured - model) * 100:+.1f}"


Cell = str | tuple[str, str]  # text, or (text, link target)


def rows(document: dict[str, Any]) -> list[list[Cell]]:
    """The table's rows, every cell plain text (or text and a link): escaped by the writer."""
    out = []
    for record in document["points"]:
        for run in record["runs"]:
            lat, lag = run["latency_ms"], run.get("lag_ms") or {}
            out.append(
                [
                    record["point"],
                    run["label"],
                    percent(run["stale_read_rate"]),
                    percent(run["model"]["stale_read_rate"]),
                    percent(run["model"].get("stale_read_rate_low")),
                    percent(run["model"].get("stale_read_rate_high")),
                    _gap(run),
                    percent(run["read_your_writes_rate"]),
                    percent(run["monotonic_read_rate"]),
                    f"{_ms(lat['reads']['p50'])} / {_ms(lat['reads']['p99'])}",
                    f"{_ms(lat['writes']['p50'])} / {_ms(lat['writes']['p99'])}",
                    _ms((lag.get("replay") or {}).get("p99")),
                    _ms(run["model"].get("in_flight")),
                    percent(run["model"].get("missed_in_flight")),
                    f"{run['ops_per_s']:,.0f}" if run["ops_per_s"] is not None else "–",
                    (run["label"], run["report"]),
                ]
            )
    return out


HEADERS = [
    "point",
    "layout",
    "stale reads",
    "model",
    "model low",
    "model high",
    "gap (pp)",
    "read-your-writes",
    "monotonic",
    "read p50 / p99 (ms)",
    "write p50 / p99 (ms)",
    "replay lag p99 (ms)",
    "in flight",
    "missed in flight",
    "ops/s",
    "report",
]


def render_sweep_markdown(document: dict[str, Any]) -> str:
    names = ", ".join(v["name"] for v in document["vary"])
    load = document["load_average"]
    lines = [
        f"# Sweep: {md_text(names)}",
        "",
        f"Made by {md_code(document['command'])}: {document['duration_s']:g} s of load per "
        f"layout and point, {document['took_s']:,.0f} s in all. Load average (1, 5, 15 min) "
        f"before {_loads(load['before'])}, after {_loads(load['after'])}: a busy machine's "
        "figures.",
        "",
        "Stale reads, read-your-writes and monotonic-read violations are shares of the reads. "
        "The model is docs/model.md's, with its bounds (model low, model high). Private "
        "storage: round robin per request, from the replicas, keys and write ratio with two "
        "measured inputs, the operations in flight at once (in flight: Little's law) and how "
        "often a read missed a write of its key still open on its own replica (missed in "
        "flight); its bounds: every write visible as it reaches its replica, or only once "
        "acknowledged. replicated-async: Probabilistically Bounded Staleness over the "
        "replay_lag sampled on the primary and each read's own times; its bounds: the commit "
        "and the read's snapshot at either end of their operations. shared and "
        "replicated-sync: none. gap = measured − model, in percentage points.",
        "",
        md_table(HEADERS, rows(document), right=tuple(range(2, 15))),
        "",
    ]
    pbs = [
        [record["point"], run["label"], percent(run["stale_read_rate"])]
        + [percent(run["model"].get(k)) for k in PBS_FIGURES]
        for record in document["points"]
        for run in record["runs"]
        if run["model"].get("kind") == "pbs"
    ]
    if pbs:
        lines += [
            "replicated-async, the model beside two variants: PBS as published (P(lag > the "
            "time since the newest acknowledgement), counting misses the checker cannot prove), "
            "and the model with the lag taken as the configured apply delay instead of the "
            "sampled replay_lag.",
            "",
            md_table(
                [
                    "point",
                    "layout",
                    "stale reads",
                    "model",
                    "PBS as published",
                    "lag = apply delay",
                ],
                [[*row] for row in pbs],
                right=(2, 3, 4, 5),
            ),
            "",
        ]
    if document["problems"]:
        lines += ["Problems:", "", *(f"- {md_text(p)}" for p in document["problems"]), ""]
    return "\n".join(lines)


def _target(path: str) -> str:
    """A link target inside ``<...>``: the characters that would end it, percent-encoded."""
    return path.replace("%", "%25").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")


def md_table(headers: Sequence[str], cells: list[list[Cell]], right: Sequence[int]) -> str:
    """report.markdown.table with links: its cells are escaped text, or (text, target) links."""
    text = [
        [md_text(c) if isinstance(c, str) else f"[{md_text(c[0])}](<{_target(c[1])}>)" for c in row]
        for row in cells
    ]
    return padded_table(headers, text, right)


PBS_FIGURES = ("stale_read_rate", "stale_read_rate_textbook", "stale_read_rate_configured_lag")


def _loads(values: list[float] | None) -> str:
    return "unknown" if not values else ", ".join(f"{v:.2f}" for v in values)
