"""lbdemo's verdict equals the one Knossos and Porcupine publish, on their own files
(``tests/data/interop/``, origin and licence in its README); what lbdemo's model cannot check
soundly it refuses, in one line, instead of giving a verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from lbdemo.checker import check
from lbdemo.interop.calls import Refused
from lbdemo.interop.formats import load

DATA = Path(__file__).resolve().parents[1] / "data" / "interop"

# file -> the verdict its project publishes: Knossos's good/ and bad/ folders.
PUBLISHED = {
    "knossos/bad/bad-analysis.edn": "inconsistent",
    "knossos/bad/immediate-failure.edn": "inconsistent",
    "knossos/bad/rethink-fail-minimal.edn": "inconsistent",
    "knossos/good/cas-register-bug.edn": "consistent",
    "knossos/good/mongodb-v0-ack-rollback-.edn": "consistent",
    "knossos/good/mongodb-v0-ack-rollback-9.edn": "consistent",
    "knossos/good/mongodb-v0-ack-rollback-10.edn": "consistent",
    "knossos/good/mongodb-v0-ack-rollback-11.edn": "consistent",
}
# file -> (format, why lbdemo refuses it)
REFUSED = {
    "knossos/good/memstress3-33.edn": ("jepsen", "a cas (compare-and-set) whose outcome is ok"),
    "porcupine/c01-bad.txt": ("porcupine", "append operations are not reads or writes"),
}


def test_every_committed_file_is_listed() -> None:
    files = {
        p.relative_to(DATA).as_posix()
        for p in DATA.rglob("*")
        if p.suffix in (".edn", ".txt", ".log", ".json")
    }
    assert files == set(PUBLISHED) | set(REFUSED)


@pytest.mark.parametrize(("name", "expected"), sorted(PUBLISHED.items()))
def test_lbdemo_agrees_with_the_published_verdict(name: str, expected: str) -> None:
    history = load([str(DATA / name)], "jepsen")
    assert check(history, None).verdict == expected


@pytest.mark.parametrize(("name", "why"), sorted(REFUSED.items()))
def test_what_lbdemo_cannot_check_soundly_is_refused(name: str, why: tuple[str, str]) -> None:
    source, reason = why
    with pytest.raises(Refused) as caught:
        load([str(DATA / name)], source)
    assert reason in str(caught.value) and "\n" not in str(caught.value)
