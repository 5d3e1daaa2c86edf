"""Judgements as JUnit XML, the format CI systems (GitHub, GitLab, Jenkins) show as tests.

One ``<testcase>`` per judgement: a ``<failure>`` for a violated limit (its body lists the
explained anomalies), ``<skipped>`` when no limit applied, nothing more when it held.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from lbdemo.report.judge import Judgement

CLASSNAME = "lbdemo.check"
# Characters XML 1.0 cannot hold even escaped; a history's client names are any JSON string.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def junit_xml(report: dict[str, Any], judgements: Sequence[Judgement], *, suite: str) -> str:
    """The JUnit XML document (a string, with its declaration) for one report's judgements."""
    failures = sum(j.passed is False for j in judgements)
    skipped = sum(j.passed is None for j in judgements)
    counts = {
        "tests": str(len(judgements)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": "lbdemo check", **counts})
    attributes = {"name": _safe(suite), **counts}
    run = report.get("run") or {}
    if isinstance(run.get("started_at"), str):
        attributes["timestamp"] = run["started_at"]
    testsuite = ET.SubElement(root, "testsuite", attributes)
    properties = ET.SubElement(testsuite, "properties")
    for name, value in _properties(report):
        ET.SubElement(properties, "property", {"name": name, "value": _safe(value)})
    # By the run's label, not the file's path: CI keeps a testcase's history by its classname.
    classname = f"{CLASSNAME}.{_dotted(str(run.get('label') or 'report'))}"
    for j in judgements:
        case = ET.SubElement(
            testsuite, "testcase", {"classname": classname, "name": _safe(j.name), "time": "0"}
        )
        if j.passed is False:
            failure = ET.SubElement(case, "failure", {"message": _safe(j.message), "type": "limit"})
            failure.text = _safe("\n".join([j.message, *j.details]))
        elif j.passed is None:
            ET.SubElement(case, "skipped", {"message": _safe(j.message)})
        else:
            ET.SubElement(case, "system-out").text = _safe(j.message)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _dotted(name: str) -> str:
    """A label as one classname part: CI tools split classnames on dots."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "report"


def _properties(report: dict[str, Any]) -> list[tuple[str, str]]:
    run = report.get("run") or {}
    layout = run.get("layout")
    if not isinstance(layout, dict):
        layout = {}
    pairs = [
        ("verdict", report.get("verdict")),
        ("label", run.get("label")),
        ("layout", layout.get("name")),
        ("command", run.get("command")),
        ("git_commit", run.get("git_commit")),
        ("lbdemo_version", run.get("lbdemo_version")),
    ]
    return [(k, str(v)) for k, v in pairs if v is not None]
