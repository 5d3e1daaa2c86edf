"""The JSON Schemas in docs/schemas/ describe what lbdemo writes: a generated history (every
line) and an audit validate, and lines the reader rejects are rejected by the schema too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from lbdemo.checker.audit import AUDIT_FORMAT, Audit, load_audit
from lbdemo.history import FORMAT, HistoryWriter
from tests.checker.opbuild import R, W

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def _validator(fmt: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{fmt.replace('/', '-')}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_every_line_of_a_written_history_validates(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path, host="http://127.0.0.1:9") as writer:
        writer.write_all(
            [
                W("u1", "p1", "u1-1", 1.0, 2.0),
                W("u2", "p1", "u2-1", 1.0, 2.0, outcome="unknown", replica=None),
                R("u1", "p1", "u1-1", 2.5, 3.0),
                R("u3", "p2", None, 2.5, 3.0),
            ]
        )
    validator = _validator(FORMAT)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["type"] == "header" and len(lines) == 5
    for line in lines:
        validator.validate(line)


@pytest.mark.parametrize(
    "bad",
    [
        {"outcome": "maybe"},
        {"op": "write", "write_id": None},
        {"client": ""},
        {"invoke": "1.0"},
        {"status": 200.5},
    ],
)
def test_lines_the_reader_rejects_fail_the_schema(bad: dict[str, object]) -> None:
    line = {
        "type": "op",
        "client": "u1",
        "op": "read",
        "key": "p1",
        "write_id": None,
        "price": None,
        "invoke": 1.0,
        "complete": 2.0,
        "status": 404,
        "outcome": "ok",
        "replica": "r1",
    }
    assert _validator(FORMAT).is_valid(line)
    assert not _validator(FORMAT).is_valid({**line, **bad})


def test_an_audit_written_and_read_back_validates(tmp_path: Path) -> None:
    audit = Audit(
        replicas={"r1": {"p1": "u1-1", "p2": None}, "r2": {"p1": "u1-1"}}, rows={"r1": 1, "r2": 1}
    )
    data = audit.to_dict()
    assert data["format"] == AUDIT_FORMAT
    _validator(AUDIT_FORMAT).validate(data)
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(data))
    assert load_audit(path) == audit
    assert not _validator(AUDIT_FORMAT).is_valid({**data, "rows": {"r1": "many"}})
    assert not _validator(AUDIT_FORMAT).is_valid({"replicas": {}})  # no format
