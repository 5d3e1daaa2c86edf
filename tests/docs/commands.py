"""The commands the docs show, taken out of fenced blocks and inline code spans, and the parsers
that judge them (lbdemo's own, built as ``lbdemo`` builds it: nothing runs)."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from lbdemo.cli import build_parser
from tests.docs.markdown import DOC_FILES, Block, Paragraph, parse

SHELL_LANGS = {"sh", "shell", "bash", "console"}
# How a doc may start an lbdemo command line.
LBDEMO = {"lbdemo", ".venv/bin/lbdemo"}


@dataclass(frozen=True)
class Command:
    where: str
    argv: tuple[str, ...]  # from the program on: ("lbdemo", "demo", "--duration", "10")
    synopsis: bool  # a synopsis ([--opt X], A.json ...): options checked, not parsed


def _logical_lines(block: Block) -> Iterator[tuple[int, str]]:
    """The block's lines with `\\` continuations joined and a console's `$ ` prompt taken off;
    in a console block only the prompted lines are commands (the rest is their output)."""
    pending, start = "", 0
    for n, raw in enumerate(block.lines, block.line + 1):
        line = raw
        if block.lang == "console":
            if not line.startswith("$ ") and not pending:
                continue
            line = line.removeprefix("$ ")
        if not pending:
            start = n
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def _simple_commands(line: str) -> Iterator[list[str]]:
    """Each simple command of a shell line: `$(...)` substitutions on their own, then the line
    split at `&&`, `||`, `;` and `|`, comments dropped."""
    for inner in re.findall(r"\$\(([^()]*)\)", line):
        yield from _simple_commands(inner)
    line = re.sub(r"\$\([^()]*\)", "SUBST", line)
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words: list[str] = []
    for token in lexer:
        if token and set(token) <= set(";&|"):
            if words:
                yield words
            words = []
        else:
            words.append(token)
    if words:
        yield words


# Words that run the command after them: `/usr/bin/time -v .venv/bin/lbdemo check ...`.
WRAPPERS = {"/usr/bin/time", "time", "sudo", "env", "timeout", "exec"}


def _from_program(words: list[str]) -> tuple[str, ...] | None:
    """The words from lbdemo (or make) on, when the command is one of those, past wrappers."""
    i = 0
    if words and words[0] in WRAPPERS:
        while i < len(words) and words[i] not in LBDEMO:
            i += 1
    if i >= len(words):
        return None
    if words[i] in LBDEMO:
        return ("lbdemo", *words[i + 1 :])
    if words[i] == "make":
        return tuple(words[i:])
    return None


def is_synopsis(argv: tuple[str, ...]) -> bool:
    """A synopsis names placeholders, not values: `[--x]`, `A.json ...`, `URL`, `<id>`."""
    return any(
        w.startswith(("[", "<")) or w.endswith(("]", ">")) or w == "..." or "|" in w
        for w in argv[1:]
    )


def block_commands() -> list[Command]:
    found = []
    for path in DOC_FILES:
        for block in parse(path).blocks:
            synopsis_block = (block.marker or "").startswith("synopsis")
            if block.lang not in SHELL_LANGS and not synopsis_block:
                continue
            for n, line in _logical_lines(block):
                words = shlex.split(line, comments=True) if synopsis_block else None
                for simple in [words] if words is not None else _simple_commands(line):
                    argv = _from_program(simple)
                    if argv:
                        where = f"{block.where.rsplit(':', 1)[0]}:{n}"
                        found.append(Command(where, argv, synopsis_block or is_synopsis(argv)))
    return found


def span_commands() -> list[tuple[Paragraph, Command]]:
    """`lbdemo ...` in inline code spans of prose: always judged as synopses (prose shows
    refused commands on purpose, e.g. `lbdemo up --strategy bogus`)."""
    found = []
    for path in DOC_FILES:
        for paragraph in parse(path).paragraphs:
            for span in paragraph.spans:
                try:
                    words = shlex.split(span)
                except ValueError:
                    words = span.split()
                argv = _from_program(words)
                if argv and argv[0] == "lbdemo":
                    found.append((paragraph, Command(paragraph.where, argv, True)))
    return found


@cache
def lbdemo_parser() -> argparse.ArgumentParser:
    return build_parser()


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def all_parsers(
    parser: argparse.ArgumentParser | None = None, prefix: tuple[str, ...] = ("lbdemo",)
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command line, nested ones (`volume ls`) included, with its words."""
    parser = parser or lbdemo_parser()
    yield prefix, parser
    for name, sub in subparsers(parser).items():
        yield from all_parsers(sub, (*prefix, name))


def parser_for(argv: tuple[str, ...]) -> tuple[argparse.ArgumentParser, tuple[str, ...]]:
    """The innermost parser the words name, and the words that named it (`lbdemo volume ls`)."""
    parser: argparse.ArgumentParser = lbdemo_parser()
    words: tuple[str, ...] = ("lbdemo",)
    for word in argv[1:]:
        sub = subparsers(parser).get(word)
        if sub is None:
            if word.startswith("-"):
                continue  # an option before the subcommand, e.g. --state
            break
        parser, words = sub, (*words, word)
    return parser, words


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    return set(parser._option_string_actions)


def options_named(argv: tuple[str, ...]) -> list[str]:
    """The long options the words name, `--opt=value` and `[--opt` forms included."""
    names = []
    for word in argv:
        for m in re.finditer(r"(?:^|[\[|(])(--[a-z][a-z0-9-]*)", word):
            names.append(m[1])
    return names


def parse_only(parser: argparse.ArgumentParser, args: list[str]) -> str | None:
    """None when `parser` accepts `args`, else its one-line error. Parsing runs no command."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(args)
    except SystemExit as exc:
        if exc.code not in (0, None):
            return err.getvalue().strip() or f"exit {exc.code}"
    return None
