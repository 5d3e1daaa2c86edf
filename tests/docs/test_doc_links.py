"""Every relative link in README.md and docs/ points at a file that exists (and at a heading that
exists, when it names one)."""

from __future__ import annotations

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
