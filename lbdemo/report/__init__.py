"""Reports: JSON for machines (:func:`build_report`), Markdown for people
(:func:`render_markdown`), runs side by side (:func:`compare_reports`, :func:`headline`), and
judgements for CI (:func:`judge`, :func:`junit_xml`)."""

from __future__ import annotations

from lbdemo.files import write_json, write_text
from lbdemo.report.build import REPORT_FORMAT, build_report
from lbdemo.report.compare import compare_reports, headline, settings_warning
from lbdemo.report.io import load_report
from lbdemo.report.judge import Judgement, Limits, judge
from lbdemo.report.junit import junit_xml
from lbdemo.report.markdown import render_markdown, verdict_reason

__all__ = [
    "REPORT_FORMAT",
    "Judgement",
    "Limits",
    "build_report",
    "compare_reports",
    "headline",
    "judge",
    "junit_xml",
    "load_report",
    "render_markdown",
    "settings_warning",
    "verdict_reason",
    "write_json",
    "write_text",
]
