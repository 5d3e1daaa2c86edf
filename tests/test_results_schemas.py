"""Every JSON file in results/ names its format and validates against docs/schemas/.

The schemas are JSON Schema draft 2020-12, one file per format, named after it
(``lbdemo-report/2`` -> ``docs/schemas/lbdemo-report-2.schema.json``). Until results/ is
regenerated with the current formats, the ``results`` tests fail on the old files: that is the
test doing its job (deselect with ``-m "not results"`` only while regenerating).
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from lbdemo.checker import Audit, check
from lbdemo.history import HistoryWriter, Op, read_history
from lbdemo.report import REPORT_FORMAT, build_report
from lbdemo.report.provenance import run_provenance

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schemas"
RESULTS = ROOT / "results"


def schema_file(fmt: str) -> Path:
    return SCHEMAS / f"{fmt.replace('/', '-')}.schema.json"


@functools.cache
def registry() -> Registry:
    """Every schema, by its ``$id`` (schemas refer to each other's ``$defs`` that way)."""
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema.get("$id", path.name), Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def problems(document: Any) -> list[str]:
    """Why ``document`` does not validate against the schema its ``format`` names ([] if it
    does)."""
    if not isinstance(document, dict) or not isinstance(document.get("format"), str):
        return ["no 'format' field"]
    path = schema_file(document["format"])
    if not path.exists():
        return [f"format {document['format']!r} has no schema {path.relative_to(ROOT)}"]
    schema = json.loads(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, registry=registry())
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in sorted(validator.iter_errors(document), key=lambda e: e.path)
    ]


def result_files() -> list[Path]:
    return sorted(RESULTS.rglob("*.json"))


@pytest.mark.parametrize("path", [p.name for p in sorted(SCHEMAS.glob("*.schema.json"))])
def test_each_schema_is_valid_draft_2020_12_and_named_after_its_format(path: str) -> None:
    schema = json.loads((SCHEMAS / path).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    fmt = schema["title"].split(":", 1)[0]  # "lbdemo-report/2: one run's ..."
    assert schema_file(fmt).name == path


@pytest.mark.results
@pytest.mark.parametrize(
    "path", result_files(), ids=[str(p.relative_to(RESULTS)) for p in result_files()]
)
def test_committed_result_file_names_its_format_and_validates(path: Path) -> None:
    found = problems(json.loads(path.read_text(encoding="utf-8")))
    assert not found, f"{path.relative_to(ROOT)}: " + "; ".join(found[:5])


def test_results_holds_json_files_to_check() -> None:
    assert result_files(), "results/ has no JSON file: the test above checked nothing"


# Reports built here, by the code that writes them, against the same schemas.


def _ops() -> list[Op]:
    def op(client: str, kind: str, key: str, wid: str | None, t: float, replica: str) -> Op:
        status = 200 if wid else 404
        return Op(
            client,
            kind,
            key,
            wid,
            100 if kind == "write" else None,
            t,
            t + 0.01,
            status,
            "ok",
            replica,
        )

    return [
        op("u1", "write", "p1", "u1-1", 10.0, "r1"),
        op("u2", "read", "p1", None, 10.1, "r2"),  # stale: r2 never saw u1-1
        op("u2", "read", "p2", None, 10.2, "r1"),
    ]


def _report(tmp_path: Path, run: dict[str, Any], audited: bool = True) -> dict[str, Any]:
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path, wall_anchor=1e9, mono_anchor=0.0) as writer:
        writer.write_all(_ops())
    history = read_history([path])
    audit = Audit(replicas={"r1": {"p1": "u1-1"}, "r2": {}}, rows={"r1": 1, "r2": 0})
    return build_report(
        check(history, audit if audited else None), history, audit if audited else None, run
    )


SCENARIO_RUN: dict[str, Any] = {
    "label": "private",
    "scenario": "consistency",
    "layout": {
        "name": "private",
        "runtime": "local",
        "summary": "one PostgreSQL per replica, in its container layer",
    },
    "settings": {
        "replicas": 3,
        "users": 20,
        "duration_s": 20.0,
        "keys": 8,
        "write_ratio": 0.3,
        "strategy": "round-robin",
    },
    "started_at": "2026-11-27T19:21:41+00:00",
    "stack_start_s": 1.5,
    "locust": {"exit_code": 1, "requests": 3, "failures": 1, "stale_reads": 1},
    "files": {
        "history": "private-history.jsonl",
        "audit": "private-audit.json",
        "locust_csv": "private-locust_stats.csv",
        "locust_html": "private-locust.html",
        "html": "private.html",
    },
}


def scenario_run() -> dict[str, Any]:
    return {**copy.deepcopy(SCENARIO_RUN), **run_provenance(["demo"], postgresql="18.6")}


def test_a_scenario_report_validates_with_and_without_series(tmp_path: Path) -> None:
    report = _report(tmp_path, scenario_run())
    assert report["format"] == REPORT_FORMAT
    assert problems(report) == []
    assert problems(report | {"series": {"seconds": [0, 1], "ops": [10, 12]}}) == []
    assert problems(_report(tmp_path, scenario_run(), audited=False)) == []


def test_a_report_of_lbdemo_check_history_validates(tmp_path: Path) -> None:
    run = {
        "label": "h",
        "histories": ["h.jsonl"],
        "audit": None,
        **run_provenance(["check", "--history", "h.jsonl"], postgresql=None),
    }
    assert problems(_report(tmp_path, run)) == []


@pytest.mark.parametrize(
    "breakage, expected",
    [
        (lambda r: r["run"]["settings"].update(replicas="3"), "'3' is not of type 'integer'"),
        (lambda r: r["run"].pop("git_commit"), "'git_commit' is a required property"),
        (lambda r: r["run"].pop("settings"), "'settings' is a dependency of 'layout'"),
        (lambda r: r["run"].update(load_average=[1.0]), "load_average"),
        (lambda r: r["anomalies"]["stale_read"].update(rate=1.5), "greater than the maximum"),
        (lambda r: r.update(format="lbdemo-report/1"), "'lbdemo-report/1' has no schema"),
        (lambda r: r.pop("verdict"), "'verdict' is a required property"),
    ],
)
def test_the_report_schema_refuses_what_the_format_forbids(
    tmp_path: Path, breakage: Any, expected: str
) -> None:
    report = _report(tmp_path, scenario_run())
    breakage(report)
    found = problems(report)
    assert any(expected in p for p in found), found


def test_the_bench_schema_takes_a_real_output_with_format_and_run() -> None:
    # The output of a real run (results/), with what the bench adds: format and run.
    bench = json.loads((RESULTS / "bench.json").read_text(encoding="utf-8"))
    bench.pop("format", None)
    bench_doc = {
        "format": "lbdemo-bench/1",
        **bench,
        "run": run_provenance(["bench"], postgresql=None),
    }
    assert problems(bench_doc) == []
    del bench_doc["results"]
    assert "(top): 'results' is a required property" in problems(bench_doc)


def test_the_stack_schema_wants_numbers_as_numbers() -> None:
    layout = {
        "name": "shared-volume",
        "storage": "shared",
        "runtime": "local",
        "summary": "one shared PostgreSQL, data on the named volume lbdemo-pgdata",
        "volume": "lbdemo-pgdata",
    }
    stack: dict[str, Any] = {
        "format": "lbdemo-stack/1",
        "pid": 4239,
        "layout": {
            **layout,
            "container": "lbdemo-db",
            "id": "a" * 64,
            "pid": 4240,
            "data": ".lbdemo/volumes/lbdemo-pgdata/_data",
        },
        "balancer": {
            "url": "http://127.0.0.1:8080",
            "admin_url": "http://127.0.0.1:9000",
            "admin_token_file": ".lbdemo/run/admin-token",
            "pid": 4242,
        },
        "replicas": [
            {
                "id": "c2518b154537",
                "name": "lbdemo-r1",
                "image": "lbdemo/catalog:1.0",
                "url": "http://127.0.0.1:35691",
                "pid": 4243,
                "data": None,
                "store_pid": None,
            }
        ],
        "daemon": {"url": "http://127.0.0.1:9001", "file": ".lbdemo/run/daemon.json"},
        "started_in_s": 1.02,
        "config": {
            "replicas": 3,
            "state_root": ".lbdemo",
            "strategy": "round-robin",
            "image": "lbdemo/catalog:1.0",
            "restart": "replace",
            "layout": layout,
        },
    }
    assert problems(stack) == []
    stack["config"]["replicas"] = "3"  # what str() of every config value gave
    assert problems(stack) == ["config/replicas: '3' is not of type 'integer'"]
