"""Names and ids: Docker's rules for volume and container names, random names, 64-hex ids."""

from __future__ import annotations

import re
import secrets

from lbdemo.containers.errors import InvalidNameError

# Docker's daemon/names.RestrictedNameChars, used for both volume and container names.
RESTRICTED_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
# Always with fullmatch: ``$`` would also match before a trailing newline ("nl\n").
_RESTRICTED = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")

# Docker has no limit of its own; the volume becomes a directory, and file names stop at 255.
MAX_NAME_LENGTH = 255


def go_quote(text: str) -> str:
    """Quote like Go's ``%q``, which Docker uses in its name errors (so NUL shows as ``\\x00``)."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def validate_volume_name(name: str) -> None:
    """Docker's local driver rule; the message is the engine's, ``create NAME: ...`` included."""
    shown = go_quote(name)[1:-1]
    if len(name) == 1:
        raise InvalidNameError(
            f"create {shown}: volume name is too short, names should be at least two "
            "alphanumeric characters"
        )
    if not _RESTRICTED.fullmatch(name):
        raise InvalidNameError(
            f"create {shown}: {go_quote(name)} includes invalid characters for a local volume "
            f"name, only {go_quote(RESTRICTED_NAME_CHARS)} are allowed. If you intended to pass "
            "a host directory, use absolute path"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"create {shown[:40]}...: volume name is too long, names can be at most "
            f"{MAX_NAME_LENGTH} characters"
        )


def validate_container_name(name: str) -> str:
    """Docker accepts an optional leading ``/``; returns the name without it."""
    bare = name[1:] if name.startswith("/") else name
    if not _RESTRICTED.fullmatch(bare) or len(bare) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"Invalid container name ({go_quote(name)[1:-1]}), only {RESTRICTED_NAME_CHARS} "
            "are allowed"
        )
    return bare


def new_id() -> str:
    """A 64-hex id, as Docker gives containers and anonymous volumes."""
    return secrets.token_hex(32)


# A few of the words Docker's namesgenerator pairs: an adjective and a notable scientist.
_ADJECTIVE_WORDS = """
    admiring affectionate agitated amazing angry awesome beautiful blissful bold boring
    brave busy charming clever compassionate competent confident cool cranky dazzling
    determined distracted dreamy eager ecstatic elastic elegant epic exciting fervent
    festive focused friendly frosty funny gallant gifted goofy gracious great happy hopeful
    hungry infallible inspiring jolly keen kind laughing loving lucid magical modest musing
    naughty nervous nice nifty nostalgic objective optimistic peaceful pedantic pensive
    practical priceless quirky quizzical relaxed reverent romantic serene sharp silly sleepy
    stoic strange suspicious sweet tender thirsty trusting upbeat vibrant vigilant wizardly
    wonderful xenodochial youthful zealous zen
"""
_SURNAME_WORDS = """
    agnesi albattani allen archimedes babbage bardeen bartik bhabha black blackwell bohr
    booth borg bose brattain burnell cannon carson cerf chandrasekhar clarke curie darwin
    davinci dijkstra einstein elion engelbart euclid euler faraday fermat fermi feynman
    franklin galileo gauss goldberg goodall hamilton hawking heisenberg hodgkin hopper
    hypatia jackson jang johnson kalam keller kepler khorana knuth lamport leakey lovelace
    lumiere mayer mccarthy mcclintock meitner mendel merkle mirzakhani morse newton nobel
    noether pascal pasteur payne perlman pike poincare ptolemy raman ritchie rosalind sammet
    shannon shaw sinoussi stonebraker swartz tesla thompson torvalds turing wescoff wilbur
    wiles williams wozniak wright yalow yonath
"""
_ADJECTIVES = tuple(_ADJECTIVE_WORDS.split())
_SURNAMES = tuple(_SURNAME_WORDS.split())


def random_name() -> str:
    """``adjective_surname``; like Docker, never ``boring_wozniak`` (Wozniak is not boring)."""
    while True:
        name = f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_SURNAMES)}"
        if name != "boring_wozniak":
            return name
