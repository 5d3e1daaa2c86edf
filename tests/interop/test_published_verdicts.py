"""lbdemo's verdict equals the one Knossos and Porcupine publish, on their own files
(``tests/data/interop/``, origin and licence in its README): the zone check where lbdemo's own
model takes the history, the general search (lbdemo.checker.wgl) where it does not, as
``lbdemo check`` does. Every file here takes well under a second; the whole table is
``benchmarks/interop_table.py`` (results/interop.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lbdemo.checker import check
from lbdemo.checker.wgl import decide
from lbdemo.interop.calls import Foreign, Refused
from lbdemo.interop.edn import Keyword
from lbdemo.interop.formats import load_any

DATA = Path(__file__).resolve().parents[1] / "data" / "interop"

# Knossos's core_test.clj checks each folder with these initial values.
CAS_REGISTER: Any = 0
MULTI_REGISTER: Any = {Keyword("x"): 0, Keyword("y"): 0}

# file -> (the verdict its project publishes, the initial value its test gives, who decides)
PUBLISHED: dict[str, tuple[str, Any, str]] = {
    "knossos/bad/bad-analysis.edn": ("inconsistent", CAS_REGISTER, "search"),
    "knossos/bad/cas-failure.edn": ("inconsistent", CAS_REGISTER, "search"),
    "knossos/bad/immediate-failure.edn": ("inconsistent", CAS_REGISTER, "zone"),
    "knossos/bad/rethink-fail-minimal.edn": ("inconsistent", CAS_REGISTER, "search"),
    "knossos/bad/rethink-fail-smaller.edn": ("inconsistent", CAS_REGISTER, "search"),
    "knossos/good/cas-register-bug.edn": ("consistent", CAS_REGISTER, "search"),
    "knossos/good/memstress3-20.edn": ("consistent", CAS_REGISTER, "search"),
    "knossos/good/memstress3-32.edn": ("consistent", CAS_REGISTER, "search"),
    "knossos/good/memstress3-33.edn": ("consistent", CAS_REGISTER, "search"),
    "knossos/good/memstress3-35.edn": ("consistent", CAS_REGISTER, "search"),
    "knossos/good/mongodb-v0-ack-rollback-.edn": ("consistent", CAS_REGISTER, "zone"),
    "knossos/good/mongodb-v0-ack-rollback-9.edn": ("consistent", CAS_REGISTER, "search"),
    "knossos/good/mongodb-v0-ack-rollback-10.edn": ("consistent", CAS_REGISTER, "zone"),
    "knossos/good/mongodb-v0-ack-rollback-11.edn": ("consistent", CAS_REGISTER, "zone"),
    "knossos/multi-register/good/multi-register.edn": ("consistent", MULTI_REGISTER, "search"),
    "knossos/mutex/bad/etcd.edn": ("inconsistent", None, "search"),
    "porcupine/c01-bad.txt": ("inconsistent", None, "search"),
    "porcupine/c01-ok.txt": ("consistent", None, "search"),
    "porcupine/c10-bad.txt": ("inconsistent", None, "search"),
}


def test_every_committed_file_is_listed() -> None:
    files = {
        p.relative_to(DATA).as_posix()
        for p in DATA.rglob("*")
        if p.suffix in (".edn", ".txt", ".log", ".json")
    }
    assert files == set(PUBLISHED)


def verdict(name: str, initial: Any) -> tuple[str, str]:
    """(verdict, "zone" or "search"): lbdemo check's path."""
    found = load_any([str(DATA / name)], "jepsen" if name.startswith("knossos") else "porcupine")
    assert isinstance(found, Foreign)
    if initial is not None:
        found.initial = initial
    try:
        return check(found.history(), None).verdict, "zone"
    except Refused:
        return decide(found).verdict, "search"


@pytest.mark.parametrize(("name", "published"), sorted(PUBLISHED.items()))
def test_lbdemo_agrees_with_the_published_verdict(
    name: str, published: tuple[str, Any, str]
) -> None:
    expected, initial, decider = published
    assert verdict(name, initial) == (expected, decider)


def test_the_knossos_nil_initial_value_gives_the_same_verdicts() -> None:
    """lbdemo's default for a Jepsen register is nil (no --initial): same verdicts here."""
    for name, (expected, initial, _) in PUBLISHED.items():
        if initial is CAS_REGISTER:
            assert verdict(name, None)[0] == expected, name
