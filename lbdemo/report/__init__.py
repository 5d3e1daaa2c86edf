"""Reports: JSON for machines (:func:`build_report`), Markdown for people
(:func:`render_markdown`), and two runs side by side (:func:`compare`)."""

from __future__ import annotations

from lbdemo.report.build import REPORT_FORMAT, build_report
from lbdemo.report.compare import compare, compare_reports
from lbdemo.report.io import load_report, write_json, write_text
from lbdemo.report.markdown import render_markdown, verdict_reason

__all__ = [
    "REPORT_FORMAT",
    "build_report",
    "compare",
    "compare_reports",
    "load_report",
    "render_markdown",
    "verdict_reason",
    "write_json",
    "write_text",
]
