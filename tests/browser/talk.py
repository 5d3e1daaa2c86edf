"""docs/presenting.md as a script: its ``console`` blocks (commands and quoted outputs) and its
screenshots, in the order the doc has them, and how a quoted output matches a real one.

A ``console`` block holds commands (``$ ``, a trailing backslash continues one on the next line)
each followed by the output the doc quotes. A line ``...`` in a quoted output stands for any
number of lines. What differs between two runs of the same command (container ids, ports, pids,
timings, the dashboard's token, dates) is masked on both sides; in a block under the marker
``<!-- talk: figures vary -->`` every figure is. An image under ``results/screenshots/talk/``
is a step too: the screenshot to take at that point of the talk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BLOCK = re.compile(r"^(<!-- talk: ([^>]*) -->\n)?```console\n(.*?)^```$", re.M | re.S)
IMAGE = re.compile(r"!\[[^\]]*\]\(\.\./results/screenshots/talk/([\w.-]+\.png)\)")
ELLIPSIS = "..."
MASKS = (
    (re.compile(r"#token=[A-Za-z0-9_-]+"), "#token=TOKEN"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "LONGID"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "CONTAINERID"),
    (re.compile(r"\bpid \d+"), "pid N"),
    (re.compile(r"\(PID \d+\)"), "(PID N)"),
    (re.compile(r"\b\d+\.\d\d s\b"), "N.NN s"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "DATE"),
)
FIGURE = re.compile(r"\d[\d,.]*")


@dataclass
class Command:
    line: str  # as the doc has it (continuation lines included)
    quoted: list[str]  # the output the doc quotes
    figures_vary: bool


@dataclass
class Block:
    start: int  # offset of the block in the doc
    end: int
    info: str
    commands: list[Command] = field(default_factory=list)


@dataclass
class Shot:
    name: str


def parse_block(text: str, figures_vary: bool) -> list[Command]:
    commands: list[Command] = []
    continued = False
    for line in text.splitlines():
        if continued:
            commands[-1].line += "\n" + line
            continued = line.endswith("\\")
        elif line.startswith("$ "):
            commands.append(Command(line[2:], [], figures_vary))
            continued = line.endswith("\\")
        elif commands:
            commands[-1].quoted.append(line)
        else:
            raise ValueError(f"output before any command in a console block: {line!r}")
    return commands


def steps(doc: str) -> list[Block | Shot]:
    """The doc's console blocks and screenshots, in order."""
    found: list[tuple[int, Block | Shot]] = []
    for m in BLOCK.finditer(doc):
        info = (m.group(2) or "").strip()
        block = Block(m.start(3), m.end(3), info)
        block.commands = parse_block(m.group(3), info == "figures vary")
        found.append((m.start(), block))
    for m in IMAGE.finditer(doc):
        found.append((m.start(), Shot(m.group(1))))
    return [step for _, step in sorted(found, key=lambda pair: pair[0])]


def mask(line: str, figures_vary: bool) -> str:
    for pattern, replacement in MASKS:
        line = pattern.sub(replacement, line)
    if figures_vary:
        line = FIGURE.sub("N", line)
        line = re.sub(r" +", " ", line)  # figures of other widths move the columns
    return line.rstrip()


def matches(quoted: list[str], real: list[str], figures_vary: bool) -> bool:
    """Whether the real output is what the doc quotes (``...``: any lines, none included)."""
    want = [q if q == ELLIPSIS else mask(q, figures_vary) for q in quoted]
    got = [mask(r, figures_vary) for r in real]
    # Lines matched so far -> can the rest match? (a small dynamic programme over both lists)
    reachable = {0}
    for w in want:
        if w == ELLIPSIS:
            reachable = set(range(min(reachable), len(got) + 1)) if reachable else set()
        else:
            reachable = {j + 1 for j in reachable if j < len(got) and got[j] == w}
    return len(got) in reachable


def rewrite(doc: str, outputs: dict[int, list[list[str]]]) -> str:
    """The doc with each block's quoted outputs replaced by real ones (record mode): block
    offset -> one output per command. Commands stay as they are."""
    pieces = []
    last = 0
    for block in [s for s in steps(doc) if isinstance(s, Block)]:
        if block.start not in outputs:
            continue
        body = []
        for command, output in zip(block.commands, outputs[block.start], strict=True):
            body.append("$ " + command.line)
            body.extend(output)
        pieces.append(doc[last : block.start])
        pieces.append("\n".join(body) + "\n")
        last = block.end
    pieces.append(doc[last:])
    return "".join(pieces)
