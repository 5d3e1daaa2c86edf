"""Every relative link in README.md and docs/ points at a file that exists (and at a heading that
exists, when it names one)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.docs.markdown import DOC_FILES, ROOT, links, parse


def _relative_links() -> list[tuple[str, Path, str]]:
    found = []
    for path in DOC_FILES:
        for paragraph in parse(path).paragraphs:
            for target in links(paragraph):
                if target.startswith(("http://", "https://", "mailto:")):
                    continue
                found.append((paragraph.where, path, target))
    return found


LINKS = _relative_links()


def test_the_docs_have_links() -> None:
    assert len(LINKS) >= 80  # the extraction works: the README alone has dozens


@pytest.mark.parametrize(("where", "doc", "target"), LINKS, ids=[f"{w} {t}" for w, _, t in LINKS])
def test_each_relative_link_resolves(where: str, doc: Path, target: str) -> None:
    file_part, _, anchor = target.partition("#")
    file = (doc.parent / unquote(file_part)).resolve() if file_part else doc
    assert file.exists(), f"{where}: {target}: no {file.relative_to(ROOT)}"
    assert file.is_relative_to(ROOT), f"{where}: {target} leaves the repository"
    if anchor and file.suffix == ".md":
        assert anchor in parse(file).anchors, f"{where}: {target}: no heading #{anchor}"


# A path of this repository named in a code span: `lbdemo/history.py`, `tests/utils.py`,
# `results/bench.md`, `lbdemo/balancer/` (image names such as `lbdemo/catalog:1.0` are not).
_REPO_PATH = re.compile(
    r"^(?:lbdemo|loadtests|tests|benchmarks|docs|results|scripts|deploy)/[\w./-]*(?:\.\w+|/)$"
)


def _paths_in_code() -> list[tuple[str, str]]:
    found = []
    for path in DOC_FILES:
        for paragraph in parse(path).paragraphs:
            for span in paragraph.spans:
                for word in re.split(r"[\s,()]+", span):
                    word = word.split("::")[0].split(":")[0]
                    if _REPO_PATH.match(word):
                        found.append((paragraph.where, word))
    return found


PATHS = _paths_in_code()


def test_the_docs_name_paths() -> None:
    assert len(PATHS) >= 50


@pytest.mark.parametrize(("where", "name"), PATHS, ids=[f"{w} {n}" for w, n in PATHS])
def test_each_repository_path_named_in_code_exists(where: str, name: str) -> None:
    # code moves (lbdemo/history.py -> lbdemo/history/): the docs must move with it
    assert (ROOT / name).exists(), f"{where}: `{name}` does not exist"
