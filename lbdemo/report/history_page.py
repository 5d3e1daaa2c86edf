"""The HTML report of any history, including one lbdemo did not record itself.

A run's page (:func:`lbdemo.report.html.render_report_html`) assumes what a run has: a final
audit, the replica that served each operation, Locust's files. A history from elsewhere (written
by hand, or imported from Jepsen or Porcupine) may have none of them. This page is the same page,
with what the history lacks *said* where a chart would otherwise be empty:

- no final audit: divergent keys and lost writes are not judged, and the per-key chart has no
  final points;
- no replica names: the per-key chart draws every observed value in one colour ("replica not
  recorded"), and the requests-per-replica chart is replaced by a sentence;
- no Locust files: said next to the (empty) list of files.

Kept apart from :mod:`lbdemo.report.html` so that the run's page stays as it is.
"""

from __future__ import annotations

import html
import os
import re
from typing import Any

from lbdemo.checker import Audit, CheckResult
from lbdemo.history import History
from lbdemo.interop.calls import POSITIONS
from lbdemo.report import html as page

NO_REPLICA = "replica not recorded"  # the one series the per-key chart draws without names
_LACKS_CSS = (
    "\n.lacks { border-left: 4px solid #8a6d00; background: #fff8e1; padding: .4rem .8rem; "
    "margin: .6rem 0; font-size: .95rem; }\n.lacks ul { margin: .2rem 0; padding-left: 1.2rem; }"
)


def lacks(report: dict[str, Any], history: History, audit: Audit | None) -> dict[str, str]:
    """What the history lacks that a run's report has, as one sentence each (keyed by what)."""
    out: dict[str, str] = {}
    if any(h.format.endswith(POSITIONS) for h in history.headers):
        out["times"] = (
            "No times: the history gives the order of its events, not when they happened, so "
            "each event's position in the file (1, 2, 3…) stands for its time in seconds; "
            "durations, latencies and rates count positions, not seconds."
        )
    if audit is None:
        out["audit"] = (
            "No final audit: nobody asked the replicas what they hold at the end, so divergent "
            "keys and lost writes are not judged (shown as –), and the per-key chart has no "
            "final points."
        )
    if history.ops and all(op.replica is None for op in history.ops):
        out["replicas"] = (
            "No replica names: the history does not say which server answered each operation, "
            "so requests per replica cannot be drawn, and the per-key chart shows every observed "
            f"value in one colour ({NO_REPLICA})."
        )
    files = (report.get("run") or {}).get("files") or {}
    if not any(files.get(k) for k in ("locust_html", "locust_csv")):
        out["locust"] = (
            "No Locust files: this history was not recorded by an lbdemo run, so there is no "
            "Locust report or statistics to link to; every figure here comes from the history."
        )
    return out


def history_page_data(
    report: dict[str, Any], history: History, result: CheckResult, audit: Audit | None
) -> dict[str, Any]:
    """The run page's data, with the operations of a history without replica names put under
    one series so that the per-key chart draws them."""
    data = page.report_data(report, history, result, audit)
    if not data["replicas"] and history.ops:
        data["replicas"] = [NO_REPLICA]
        data["ops"]["rep"] = [0] * len(history.ops)
    return data


def _lacks_html(missing: dict[str, str]) -> str:
    if not missing:
        return ""
    items = "".join(
        f'<li data-lacks="{html.escape(what)}">{html.escape(text)}</li>'
        for what, text in missing.items()
    )
    return (
        '<section class="lacks" id="lacks"><b>What this history lacks</b>'
        f"<ul>{items}</ul></section>"
    )


def _say_at_chart(text: str, element_id: str, sentence: str, *, hide: bool) -> str:
    """Put ``sentence`` after the chart element ``element_id``, and hide the chart if ``hide``
    (the page's script still draws into the hidden element, so it needs no change)."""
    pattern = re.compile(rf'(<div id="{re.escape(element_id)}"[^>]*)(></div>)')
    note = (
        f'<p class="lacks" data-lacks-chart="{html.escape(element_id)}">{html.escape(sentence)}</p>'
    )
    flag = " hidden" if hide else ""
    return pattern.sub(lambda m: f"{m.group(1)}{flag}{m.group(2)}{note}", text, count=1)


def render_history_html(
    report: dict[str, Any],
    history: History,
    result: CheckResult,
    audit: Audit | None = None,
    *,
    link_base: str | os.PathLike[str] | None = None,
) -> str:
    """Any history as one self-contained HTML page: the run's page, with what it lacks said."""
    missing = lacks(report, history, audit)
    text = page.run_page(
        report,
        history_page_data(report, history, result, audit),
        link_base=link_base,
        extra_header=_lacks_html(missing),
        extra_css=_LACKS_CSS,
    )
    if "replicas" in missing:
        text = _say_at_chart(
            text,
            "chart-replicas",
            "Not drawn: the history names no replica, so requests per replica are unknown.",
            hide=True,
        )
    if "audit" in missing:
        text = _say_at_chart(
            text,
            "chart-key",
            "No final audit: the chart ends with the last operation, not with what each replica "
            "held at the end.",
            hide=False,
        )
    return text
