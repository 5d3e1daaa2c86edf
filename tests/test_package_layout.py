"""The shape of the package: few modules loose in ``lbdemo/``, and every package says what it is.

A module directly under ``lbdemo/`` is the ground floor everyone may use (or the CLI on top); the
rest lives in a package of one subsystem. A new top-level module is a decision: add it to
``TOP_LEVEL`` below with the reason, or put it in the package it belongs to.
"""

from __future__ import annotations

import ast
from pathlib import Path

import lbdemo

PACKAGE = Path(lbdemo.__file__).resolve().parent

# The modules allowed directly under lbdemo/ (besides __init__.py and __main__.py): at most six.
TOP_LEVEL = {
    "cli.py",  # the `lbdemo` command line: parse, call the command (the top floor)
    "config.py",  # where lbdemo keeps its state, the environment it reads (ground floor)
    "errors.py",  # the exception tree every part raises (ground floor)
    "files.py",  # writing files whole or not at all (ground floor)
}
MOST_TOP_LEVEL = 6


def test_at_most_six_modules_lie_directly_under_lbdemo_and_each_is_allowed_by_name() -> None:
    assert len(TOP_LEVEL) <= MOST_TOP_LEVEL
    loose = {p.name for p in PACKAGE.glob("*.py")} - {"__init__.py", "__main__.py"}
    assert loose - TOP_LEVEL == set(), (
        "modules directly under lbdemo/ that belong in a package (or need a decision in "
        f"TOP_LEVEL): {sorted(loose - TOP_LEVEL)}"
    )


def _packages() -> list[Path]:
    """Every directory under lbdemo/ that holds Python code (with or without __init__.py)."""
    dirs = {p.parent for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    return sorted(dirs)


def test_the_walk_finds_the_packages() -> None:
    names = {d.relative_to(PACKAGE).as_posix() for d in _packages()}
    assert {".", "history", "process", "checker", "report"} <= names


def test_every_package_has_an_init_with_a_module_docstring() -> None:
    missing = []
    for directory in _packages():
        init = directory / "__init__.py"
        where = init.relative_to(PACKAGE.parent).as_posix()
        if not init.is_file():
            missing.append(f"{where}: no such file (a namespace package)")
            continue
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        if not docstring or not docstring.strip():
            missing.append(f"{where}: no module docstring")
    assert missing == []


def test_the_architecture_doc_names_every_package() -> None:
    """docs/architecture.md is the map a newcomer walks with: a package it does not name is a
    room missing from the plan."""
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    unnamed = [
        f"lbdemo/{d.relative_to(PACKAGE).as_posix()}/"
        for d in _packages()
        if d != PACKAGE and f"lbdemo/{d.relative_to(PACKAGE).as_posix()}/" not in doc
    ]
    assert unnamed == [], f"docs/architecture.md does not name {unnamed}"
