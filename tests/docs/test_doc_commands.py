"""Every command README.md and docs/ show is one the CLI accepts, with options it has.

Commands in ```sh / ```console blocks are parsed by lbdemo's own parser (parse only: nothing
runs); synopses (`[--opt X]`, `A.json ...`) and commands in prose are checked word by word:
the subcommand exists and so does every option they name. The other direction too: every
option `--help` shows is documented beside its command.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shlex

import pytest

from tests.docs.commands import (
    Command,
    all_parsers,
    block_commands,
    lbdemo_parser,
    option_strings,
    parse_only,
    parser_for,
    span_commands,
    subparsers,
)
from tests.docs.markdown import DOC_FILES, ROOT, parse

BLOCK_COMMANDS = block_commands()
SPAN_COMMANDS = [command for _, command in span_commands()]


def _id(command: Command) -> str:
    return f"{command.where} {' '.join(command.argv)[:60]}"


def test_the_docs_show_commands() -> None:
    # the extraction itself: a regression here would make every test below vacuous
    lbdemo = [c for c in BLOCK_COMMANDS if c.argv[0] == "lbdemo"]
    assert len(lbdemo) >= 30 and len(SPAN_COMMANDS) >= 100
    assert any(c.argv[:2] == ("make", "demo") for c in BLOCK_COMMANDS)


@pytest.mark.parametrize(
    "command",
    [c for c in BLOCK_COMMANDS if c.argv[0] == "lbdemo" and not c.synopsis],
    ids=_id,
)
def test_each_command_in_a_code_block_parses(command: Command) -> None:
    error = parse_only(lbdemo_parser(), list(command.argv[1:]))
    assert error is None, f"{command.where}: {' '.join(command.argv)}: {error}"


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][\w.-]*):", text, re.MULTILINE))


def _make_commands() -> list[Command]:
    spans = [c for _, c in _make_spans()]
    return [c for c in BLOCK_COMMANDS if c.argv[0] == "make"] + spans


def _make_spans() -> list[tuple[str, Command]]:
    found = []
    for path in DOC_FILES:
        for paragraph in parse(path).paragraphs:
            for span in paragraph.spans:
                if span.startswith("make "):
                    found.append((span, Command(paragraph.where, tuple(shlex.split(span)), False)))
    return found


@pytest.mark.parametrize("command", _make_commands(), ids=_id)
def test_each_make_command_names_a_target_and_demo_arguments_parse(command: Command) -> None:
    targets = [w for w in command.argv[1:] if "=" not in w and not w.startswith("-")]
    assert targets and set(targets) <= _makefile_targets(), command
    for word in command.argv[1:]:
        if word.startswith("ARGS=") and targets == ["demo"]:
            error = parse_only(lbdemo_parser(), ["demo", *shlex.split(word.removeprefix("ARGS="))])
            assert error is None, f"{command.where}: {word}: {error}"


def _names_subcommands(argv: tuple[str, ...]) -> list[str]:
    """`lbdemo up/run/stop/kill` names four commands; `lbdemo volume ls` one, nested."""
    return argv[1].split("/") if len(argv) > 1 and "/" in argv[1] else []


@pytest.mark.parametrize(
    "command",
    [c for c in BLOCK_COMMANDS if c.argv[0] == "lbdemo" and c.synopsis] + SPAN_COMMANDS,
    ids=_id,
)
def test_each_synopsis_and_command_in_prose_names_real_commands_and_options(
    command: Command,
) -> None:
    top = subparsers(lbdemo_parser())
    several = _names_subcommands(command.argv)
    if several:
        missing = [name for name in several if name not in top]
        assert not missing, f"{command.where}: no such command: {missing}"
        return
    parser, words = parser_for(command.argv)
    rest = command.argv[len(words) :]
    if len(command.argv) > 1 and len(words) == 1:
        first = command.argv[1]
        assert first.startswith("-"), f"{command.where}: `lbdemo {first}`: no such command"
    known = option_strings(parser) | option_strings(lbdemo_parser())
    named = [w.split("=")[0].strip("[]()") for w in rest if re.match(r"^\[?--?[a-zA-Z]", w)]
    unknown = [o for o in named if o.split("|")[0] not in known]
    assert not unknown, f"{command.where}: {' '.join(words)} has no {unknown}"


# Parsers of the other programs the docs give a synopsis for.
OTHER_PROGRAMS = {
    "python -m lbdemo.balancer": lambda: importlib.import_module(
        "lbdemo.balancer.__main__"
    ).build_parser(),
}


def test_synopses_of_other_programs_name_their_real_options() -> None:
    checked = 0
    for path in DOC_FILES:
        for block in parse(path).blocks:
            program = (block.marker or "").removeprefix("synopsis").lstrip(": ")
            if not program or program == (block.marker or ""):
                continue
            assert program in OTHER_PROGRAMS, f"{block.where}: no parser known for {program}"
            parser = OTHER_PROGRAMS[program]()
            text = " ".join(block.lines)
            assert text.startswith(program), block.where
            named = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
            assert named, block.where
            unknown = named - set(parser._option_string_actions)
            assert not unknown, f"{block.where}: {program} has no {sorted(unknown)}"
            checked += 1
    assert checked >= 1


def _chunks() -> list[str]:
    chunks = []
    for path in DOC_FILES:
        doc = parse(path)
        chunks += [p.text for p in doc.paragraphs]
        chunks += ["\n".join(b.lines) for b in doc.blocks]
    return chunks


def _mentions(chunk: str, command: str) -> bool:
    c = re.escape(command)
    return bool(re.search(rf"lbdemo {c}\b|`{c}[\s`]|(?<![\w-]){c} -", chunk))


# Options shared by most commands: documented once for all (docs/containers.md, README).
SHARED_OPTIONS = {"--state", "--runtime", "--project"}


def test_every_option_in_help_is_documented_beside_its_command() -> None:
    """What `up --host` was: in --help only. An option counts as documented when a paragraph or
    block of README.md or docs/ names it together with its command."""
    chunks = _chunks()
    undocumented = []
    seen: set[int] = set()
    for words, parser in all_parsers():
        if len(words) < 2 or id(parser) in seen:  # aliases (volume list = ls) share a parser
            continue
        seen.add(id(parser))
        command = " ".join(words[1:])
        for action in parser._actions:
            names = action.option_strings
            if not names or "--help" in names or action.help == argparse.SUPPRESS:
                continue
            if SHARED_OPTIONS & set(names):
                continue
            if not any(
                _mentions(chunk, command)
                and any(re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", chunk) for o in names)
                for chunk in chunks
            ):
                undocumented.append(f"lbdemo {command} {'/'.join(names)}")
    assert not undocumented, f"options in --help that no doc names: {undocumented}"


def test_shared_options_are_documented() -> None:
    text = "\n".join(_chunks())
    for option in SHARED_OPTIONS:
        assert re.search(rf"`[^`]*{option}\b", text), option
