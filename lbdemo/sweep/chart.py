"""``sweep.html``: the measured rates against the varied parameter, one line per layout, the
model's curve on the same axes; drawn as inline SVG on the server (no script: the page is its
numbers), styled by the report pages' own stylesheet."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from lbdemo.sweep.document import HEADERS, Cell, rows

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
# A layout keeps its colour on every chart (the report pages' palette, in --layouts order).
W, H = 1180, 360  # the main chart's viewBox; the small ones are a third as wide
PAD_L, PAD_R, PAD_T, PAD_B = 74, 24, 16, 58


@dataclass
class Series:
    label: str
    color: str
    points: list[tuple[Any, float]]  # (x value, y)
    dashed: bool = False  # the model
    # the model's bounds, (lower, upper) at the same xs, shaded between
    band: tuple[list[tuple[Any, float]], list[tuple[Any, float]]] | None = None


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _nice_max(value: float) -> float:
    """The axis top: a value whose quarters (the grid lines) read round."""
    for top in (0.01, 0.02, 0.04, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0):
        if value <= top:
            return top
    scale = 10.0 ** math.floor(math.log10(value))
    for m in (1, 2, 4, 6, 8, 10):
        if value <= m * scale:
            return m * scale
    return 10 * scale


def svg_chart(
    series: Sequence[Series],
    xs: Sequence[Any],
    *,
    x_title: str,
    y_title: str,
    y_text: Callable[[float], str],
    numeric: bool,
    width: int = W,
    height: int = H,
    y_max: float | None = None,
) -> str:
    """A line chart: a linear x axis for numbers (ticks at the swept values), one slot per
    value otherwise; y from 0."""
    inner_w, inner_h = width - PAD_L - PAD_R, height - PAD_T - PAD_B
    ys = [y for s in series for _, y in s.points]
    top = y_max if y_max is not None else _nice_max(max(ys, default=0.0) or 0.01)
    if numeric:
        lo, hi = min(xs), max(xs)
        span = (hi - lo) or 1.0

        def px(x: Any) -> float:
            return PAD_L + 20 + (float(x) - lo) / span * (inner_w - 40)
    else:
        slot = {x: i for i, x in enumerate(xs)}

        def px(x: Any) -> float:
            return PAD_L + (slot[x] + 0.5) * inner_w / len(xs)

    def py(y: float) -> float:
        return PAD_T + inner_h - min(y, top) / top * inner_h

    out = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{_esc(y_title)} against {_esc(x_title)}" class="sweep-chart">'
    ]
    for i in range(5):  # horizontal grid and y ticks
        y = top * i / 4
        out.append(
            f'<line x1="{PAD_L}" x2="{width - PAD_R}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
            f'stroke="{"#999" if i == 0 else "#e4e4e4"}"/>'
            f'<text x="{PAD_L - 8}" y="{py(y) + 5:.1f}" text-anchor="end">{_esc(y_text(y))}</text>'
        )
    for x in xs:
        out.append(
            f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{PAD_T}" y2="{PAD_T + inner_h}" '
            f'stroke="#f0f0f0"/><text x="{px(x):.1f}" y="{PAD_T + inner_h + 22}" '
            f'text-anchor="middle">{_esc(x)}</text>'
        )
    out.append(
        f'<text x="{PAD_L + inner_w / 2:.1f}" y="{height - 8}" text-anchor="middle" '
        f'class="axis-title">{_esc(x_title)}</text>'
        f'<text transform="translate(16 {PAD_T + inner_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" class="axis-title">{_esc(y_title)}</text>'
    )
    for s in series:
        if s.band:
            lower, upper = s.band
            edge = [(px(x), py(y)) for x, y in lower] + [(px(x), py(y)) for x, y in reversed(upper)]
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in edge)
            out.append(f'<polygon points="{path}" fill="{s.color}" fill-opacity="0.12"/>')
    for s in series:
        pts = [(px(x), py(y)) for x, y in s.points]
        if not pts:
            continue
        dash = ' stroke-dasharray="8 6"' if s.dashed else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{s.color}" '
            f'stroke-width="{2 if s.dashed else 3}"{dash}/>'
        )
        for (x, y), (xv, yv) in zip(pts, s.points, strict=True):
            fill = "#fff" if s.dashed else s.color
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{5 if s.dashed else 6}" fill="{fill}" '
                f'stroke="{s.color}" stroke-width="2"><title>{_esc(s.label)}: '
                f"{_esc(xv)} → {_esc(y_text(yv))}</title></circle>"
            )
    out.append("</svg>")
    return "".join(out)


def _legend(entries: Sequence[tuple[str, str, bool]]) -> str:
    spans = []
    for label, color, dashed in entries:
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        line = (
            f'<svg width="34" height="14" aria-hidden="true"><line x1="1" x2="33" y1="7" y2="7" '
            f'stroke="{color}" stroke-width="3"{dash}/>'
            f'<circle cx="17" cy="7" r="4.5" fill="{"#fff" if dashed else color}" '
            f'stroke="{color}" stroke-width="2"/></svg>'
        )
        spans.append(f"<span>{line} {_esc(label)}</span>")
    return f'<div class="legend">{"".join(spans)}</div>'


Line = tuple[str, list[tuple[Any, dict[str, Any]]]]  # (label, [(x, run record)])


def _lines(document: dict[str, Any]) -> tuple[list[Any], list[Line]]:
    """The first varied parameter's values (the x axis) and one line per layout and
    combination of the other parameters' values: (label, [(x, run record)])."""
    first = document["vary"][0]["name"]
    xs = list(document["vary"][0]["values"])
    lines: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
    for record in document["points"]:
        rest = ", ".join(f"{k}={v}" for k, v in record["values"].items() if k != first)
        for run in record["runs"]:
            label = run["label"] + (f" ({rest})" if rest else "")
            lines.setdefault(label, []).append((record["values"][first], run))
    return xs, list(lines.items())


def _pct(y: float) -> str:
    return f"{round(y * 100, 1):g} %"


def render_sweep_html(document: dict[str, Any], numeric: bool, x_title: str) -> str:
    xs, lines = _lines(document)
    colors = {label: PALETTE[i % len(PALETTE)] for i, (label, _) in enumerate(lines)}

    def series(value: Callable[[dict[str, Any]], float | None], model: bool) -> list[Series]:
        out: list[Series] = []
        for label, runs in lines:
            pts = [(x, v) for x, run in runs if (v := value(run)) is not None]
            out.append(Series(label, colors[label], pts))
            if model:
                mpts, lower, upper = [], [], []
                for x, run in runs:
                    m = run["model"]["stale_read_rate"]
                    if m is not None:
                        mpts.append((x, m))
                        low = run["model"].get("stale_read_rate_low")
                        high = run["model"].get("stale_read_rate_high")
                        lower.append((x, m if low is None else low))
                        upper.append((x, m if high is None else high))
                band = (lower, upper) if lower != upper else None
                out.append(Series(f"{label}, model", colors[label], mpts, dashed=True, band=band))
        return out

    legend = _legend(
        [(label, colors[label], False) for label, _ in lines]
        + [(f"{label}: model", colors[label], True) for label, _ in lines]
    )
    if any(s.band for s in series(lambda r: None, model=True)):
        legend = legend.replace(
            "</div>",
            '<span><svg width="34" height="14" aria-hidden="true"><rect width="34" height="14" '
            f'fill="{PALETTE[0]}" fill-opacity="0.12"/></svg> the model\'s bounds (docs/model.md)'
            "</span></div>",
        )
    main = svg_chart(
        series(lambda r: r["stale_read_rate"], model=True),
        xs,
        x_title=x_title,
        y_title="stale reads (share of reads)",
        y_text=_pct,
        numeric=numeric,
        y_max=1.0,
    )
    small = {"width": 400, "height": 300, "x_title": x_title, "numeric": numeric}
    ryw = svg_chart(
        series(lambda r: r["read_your_writes_rate"], False),
        xs,
        y_title="read-your-writes violations",
        y_text=_pct,
        **small,  # type: ignore[arg-type]
    )
    mono = svg_chart(
        series(lambda r: r["monotonic_read_rate"], False),
        xs,
        y_title="monotonic-read violations",
        y_text=_pct,
        **small,  # type: ignore[arg-type]
    )
    latency = svg_chart(
        series(lambda r: r["latency_ms"]["reads"]["p99"], False),
        xs,
        y_title="read latency p99 (ms)",
        y_text=lambda y: f"{y:g}",
        **small,  # type: ignore[arg-type]
    )
    throughput = svg_chart(
        series(lambda r: r.get("ops_per_s"), False),
        xs,
        y_title="operations per second",
        y_text=lambda y: f"{y:,.0f}",
        **small,  # type: ignore[arg-type]
    )
    table_rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in rows(document)
    )
    head = "".join(f"<th>{_esc(h)}</th>" for h in HEADERS)
    names = ", ".join(v["name"] for v in document["vary"])
    load = document["load_average"]
    after = ", ".join(f"{v:.2f}" for v in load["after"] or []) or "unknown"
    css = (resources.files("lbdemo.report") / "assets" / "page.css").read_text(encoding="utf-8")
    return PAGE.format(
        title=_esc(f"lbdemo sweep: {names}"),
        css=css + SWEEP_CSS,
        names=_esc(names),
        command=_esc(document["command"]),
        duration=_esc(f"{document['duration_s']:g}"),
        took=_esc(f"{document['took_s']:,.0f}"),
        load=_esc(after),
        legend=legend,
        main=main,
        ryw=ryw,
        mono=mono,
        latency=latency,
        throughput=throughput,
        head=head,
        rows=table_rows,
        problems="".join(f"<li>{_esc(p)}</li>" for p in document["problems"]),
    )


def _cell(cell: Cell) -> str:
    if isinstance(cell, str):
        return _esc(cell)
    return f'<a href="{_esc(cell[1])}">{_esc(cell[0])}</a>'


SWEEP_CSS = """
.sweep-chart text { font-size: 15px; fill: #333; }
.sweep-chart .axis-title { font-size: 16px; font-weight: 600; }
.smalls { display: grid; grid-template-columns: repeat(3, 1fr); gap: 1rem; }
.smalls h3 { font-size: 1rem; margin: .6rem 0 0; }
.legend { margin: .2rem 0 .2rem; }
.legend svg { vertical-align: -2px; }
header p { margin: .2rem 0; }
.table-wrap { overflow-x: auto; }
table.compare { font-size: .85rem; }
table.compare th, table.compare td { padding: .2rem .45rem; }
table.compare td { white-space: nowrap; }
h1 { font-size: 1.6rem; }
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
<header>
<h1>Stale reads against {names}: measured and modelled</h1>
<p class="settings">{duration} s of load per layout and point, {took} s in all; load average
after: {load} (a busy machine). <code>{command}</code></p>
</header>
<main>
{legend}
{main}
<p class="note">Solid: measured. Dashed, hollow points: the model (docs/model.md). Private
storage: from the replicas, keys and write ratio, with the operations in flight and how soon a
write becomes visible on its replica, both measured in the run; the shaded band is the same
model from every write visible as it reaches its replica (bottom) to only once acknowledged
(top). Replicated-async: Probabilistically Bounded Staleness over the measured replication lag,
by the checker's rule; shared and synchronous layouts: none.</p>
<div class="smalls">
<div><h3>Read-your-writes violations</h3>{ryw}</div>
<div><h3>Monotonic-read violations</h3>{mono}</div>
<div><h3>Read latency p99</h3>{latency}</div>
<div><h3>Throughput through the balancer</h3>{throughput}</div>
</div>
<h2>Every point</h2>
<div class="table-wrap"><table class="compare"><thead><tr>{head}</tr></thead>
<tbody>{rows}</tbody></table></div>
<ul class="problems">{problems}</ul>
</main>
<footer>Made by lbdemo sweep. Each point's report is linked from its row.</footer>
</body>
</html>
"""
