"""Just enough Markdown for testing the docs: fenced blocks with their markers, prose with its
inline code spans and links, headings and their anchors.

A marker is an HTML comment on the line right above a fenced block (or a table or paragraph),
e.g. ``<!-- output from a real run: lbdemo up -d -->``; GitHub does not render it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the docs tests read: the README and every page of docs/.
DOC_FILES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<text>.*?)\s*-->\s*$")
_SPAN = re.compile(r"(?<!`)`([^`]+)`(?!`)")
# [text](target) and ![alt](target); the text may hold code spans, not brackets
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*(?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")


@dataclass(frozen=True)
class Block:
    """A fenced block: where it starts (1-based line of the fence), its language, its lines
    (without the fence's indentation) and the marker above it, if any."""

    path: Path
    line: int
    lang: str
    lines: tuple[str, ...]
    marker: str | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


@dataclass(frozen=True)
class Paragraph:
    """A run of non-blank prose lines outside fenced blocks (a table is one too)."""

    path: Path
    line: int
    text: str
    marker: str | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def spans(self) -> list[str]:
        # a span may wrap onto the next line, as in Markdown
        return [" ".join(span.split()) for span in _SPAN.findall(self.text)]


@dataclass
class Doc:
    path: Path
    blocks: list[Block] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)

    @property
    def anchors(self) -> set[str]:
        return {
            github_anchor(line.lstrip("#"))
            for p in self.paragraphs
            for line in p.text.splitlines()
            if re.match(r"^#{1,6} ", line)
        }


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, code ticks and punctuation dropped, each space
    a hyphen (so "9. The same lessons on a real Docker Engine: `--runtime docker`" becomes
    "9-the-same-lessons-on-a-real-docker-engine---runtime-docker")."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def parse(path: Path) -> Doc:
    doc = Doc(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    marker: str | None = None
    i = 0
    prose: list[str] = []
    prose_start = 0
    prose_marker: str | None = None

    def flush() -> None:
        nonlocal prose
        if prose:
            doc.paragraphs.append(Paragraph(path, prose_start, "\n".join(prose), prose_marker))
        prose = []

    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            indent, closing = len(fence["indent"]), fence["fence"]
            body: list[str] = []
            j = i + 1
            while j < len(lines) and lines[j].strip() != closing:
                body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
                j += 1
            doc.blocks.append(Block(path, i + 1, fence["lang"], tuple(body), marker))
            marker = None
            i = j + 1
            continue
        found = _MARKER.match(line)
        if found:
            flush()
            marker = found["text"]
        elif not line.strip():
            flush()
        else:
            if not prose:
                prose_start, prose_marker, marker = i + 1, marker, None
            prose.append(line)
        i += 1
    flush()
    return doc


def links(paragraph: Paragraph) -> list[str]:
    # code spans first: a `[x](y)` inside one is not a link
    return [m["target"] for m in _LINK.finditer(_SPAN.sub("", paragraph.text))]
