"""``lbdemo check --history FILE --from jepsen|porcupine`` and ``lbdemo export``, as a user runs
them: outputs only where named; bad input is one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.utils import run_cli

DATA = Path(__file__).resolve().parents[1] / "data" / "interop"
RESULTS = Path(__file__).resolve().parents[2] / "results" / "interop"
BAD = DATA / "knossos" / "bad" / "rethink-fail-minimal.edn"


def refused(*argv: str) -> str:
    result = run_cli(*argv)
    assert result.status == 2, result
    assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
    assert result.out == ""
    return result.err


@pytest.mark.parametrize("source", [["--from", "jepsen"], []])
def test_check_reads_a_knossos_history_named_or_told_by_content(source: list[str]) -> None:
    result = run_cli("check", "--history", str(BAD), *source, "--expect", "inconsistent")
    assert result.status == 0, result
    assert "INCONSISTENT" in result.out and "as expected: inconsistent" in result.out


def test_check_of_an_imported_history_writes_json_markdown_and_html_where_named(
    tmp_path: Path,
) -> None:
    out = {ext: tmp_path / f"r.{ext}" for ext in ("json", "md", "html")}
    result = run_cli(
        "check", "--history", str(BAD), "--from", "porcupine",
        "--json", str(out["json"]), "--markdown", str(out["md"]), "--html", str(out["html"]),
    )  # fmt: skip
    assert result.status == 0, result
    assert json.loads(out["json"].read_text())["verdict"] == "inconsistent"
    assert "INCONSISTENT" in out["md"].read_text()
    page = out["html"].read_text()
    assert 'data-lacks="audit"' in page and 'data-lacks="replicas"' in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json", "r.md"]


def test_export_writes_what_check_reads_back(tmp_path: Path) -> None:
    history = RESULTS / "private-history.jsonl"
    fields = ("verdict", "totals", "anomalies", "linearizability", "explained_anomalies")

    def report(path: Path) -> dict[str, object]:
        out = tmp_path / f"{path.name}.report.json"
        result = run_cli("check", "--history", str(path), "--json", str(out))  # told by content
        assert result.status == 0, result
        data = json.loads(out.read_text())
        return {k: data[k] for k in fields}

    direct = report(history)
    assert direct["verdict"] == "inconsistent"
    for fmt in ("jepsen", "porcupine"):
        out = tmp_path / f"h.{fmt}"
        result = run_cli("export", "--format", fmt, str(history), str(out))
        assert result.status == 0 and f"to {out} ({fmt})" in result.out, result
        assert report(out) == direct


CAS = DATA / "knossos/good/memstress3-33.edn"  # successful cas: the general search decides


def test_the_general_search_decides_what_the_fast_check_cannot() -> None:
    result = run_cli("check", "--history", str(CAS), "--expect", "consistent")
    assert result.status == 0, result
    first, why, cost, verdict, judged = result.out.splitlines()
    assert "cas-register model, initial value nil" in first
    assert "cannot take it: a cas (compare-and-set) whose outcome is ok" in why
    assert cost.startswith("general linearizability search: ") and " states in " in cost
    assert verdict == "verdict: consistent"
    assert judged == "as expected: consistent"


def test_a_search_over_its_budget_says_unknown_and_fails_an_expectation() -> None:
    result = run_cli(
        "check", "--history", str(CAS), "--max-search-states", "3", "--expect", "consistent"
    )
    assert result.status == 1, result
    assert "verdict: unknown: search budget exceeded (4 states on a key of" in result.out
    assert result.out.endswith("expected consistent, but the history is unknown\n")


def test_a_report_of_a_history_only_the_general_search_decides_is_refused(
    tmp_path: Path,
) -> None:
    err = refused("check", "--history", str(CAS), "--html", str(tmp_path / "r.html"))
    assert "--html needs a history lbdemo's own checker takes" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["check", "--history", str(BAD), "--from", "nope"], "invalid choice"),
        (
            ["check", "--history", str(RESULTS / "private-history.jsonl"), "--from", "jepsen"],
            "is an lbdemo history (JSON Lines), not a jepsen history",
        ),
        (["check", "--history", str(BAD), str(BAD), "--from", "jepsen"], "is one file"),
        (
            ["check", str(RESULTS / "private.json"), "--from", "jepsen"],
            "--from only applies to --history",
        ),
        (
            ["export", "--format", "jepsen", str(BAD), "/tmp/never-written.edn"],
            "malformed history line",
        ),
        (["export", "--format", "edn", str(BAD), "x"], "invalid choice"),
        (["check", "--history", str(CAS), "--initial", "[1"], "--initial"),
        (
            ["check", "--history", str(DATA / "porcupine/c01-ok.txt"), "--initial", "1"],
            "the initial value of a kv history is a string",
        ),
        (
            ["check", "--history", str(RESULTS / "private-history.jsonl"), "--initial", "0"],
            "--initial only applies to another tool's history",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], says: str) -> None:
    assert says in refused(*argv)
    assert not Path("/tmp/never-written.edn").exists()


def test_export_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    history.write_bytes((RESULTS / "shared-history.jsonl").read_bytes())
    before = history.read_bytes()
    assert "is one of the input files" in refused(
        "export", "--format", "porcupine", str(history), str(history)
    )
    assert history.read_bytes() == before


def test_a_malformed_edn_file_names_what_and_where(tmp_path: Path) -> None:
    path = tmp_path / "h.edn"
    path.write_text('[{:type :invoke, :f :read, :process 0, :at #inst "2020"}]')
    assert f"{path}:1:44: EDN tagged values (#inst) are not supported" in refused(
        "check", "--history", str(path)
    )
