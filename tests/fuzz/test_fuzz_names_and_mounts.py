"""Fuzzing names and mount specs: whatever a user types, the answer is a valid value or the
project's one-line error (a UsageError), never another exception, never a multi-line message
(the CLI prints ``lbdemo: error: <message>`` as one line)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lbdemo.containers.errors import InvalidNameError
from lbdemo.containers.mounts import Mount, parse_mount_spec, parse_volume_spec
from lbdemo.containers.names import MAX_NAME_LENGTH, validate_container_name, validate_volume_name
from lbdemo.errors import UsageError
from tests.fuzz.tally import examples, tally
from tests.utils import run_cli as lbdemo

DOCKER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")

# Near-valid names (the rule's own characters) mixed with anything at all, control
# characters and line breaks included.
name_chars = st.sampled_from("aZ09_.-/\n\r\t \0:\\~é")
names = (
    st.text(name_chars, max_size=12)
    | st.text(max_size=300)
    | st.from_regex(DOCKER_NAME, fullmatch=True)
)


def one_line(exc: Exception) -> bool:
    text = str(exc)
    return bool(text) and "\n" not in text and "\r" not in text


@settings(max_examples=examples(150), deadline=None)
@given(name=names)
def test_a_volume_name_is_accepted_exactly_when_dockers_rule_allows_it(name: str) -> None:
    allowed = bool(DOCKER_NAME.fullmatch(name)) and len(name) <= MAX_NAME_LENGTH
    try:
        validate_volume_name(name)
    except InvalidNameError as exc:
        tally("volume names", "refused")
        assert not allowed, (name, str(exc))
        assert one_line(exc), repr(str(exc))
    else:
        tally("volume names", "accepted")
        assert allowed, name


@settings(max_examples=examples(150), deadline=None)
@given(name=names | names.map(lambda n: "/" + n))
def test_a_container_name_is_accepted_exactly_when_dockers_rule_allows_it(name: str) -> None:
    bare = name[1:] if name.startswith("/") else name
    allowed = bool(DOCKER_NAME.fullmatch(bare)) and len(bare) <= MAX_NAME_LENGTH
    try:
        result = validate_container_name(name)
    except InvalidNameError as exc:
        tally("container names", "refused")
        assert not allowed, (name, str(exc))
        assert one_line(exc), repr(str(exc))
    else:
        tally("container names", "accepted")
        assert allowed and result == bare, name


def check_mount(mount: Mount) -> None:
    assert mount.destination.startswith("/") and mount.destination != "/"
    assert "/../" not in mount.destination + "/" and "//" not in mount.destination
    if mount.type == "volume":
        if mount.name:
            validate_volume_name(mount.name)
    else:
        assert mount.source.startswith("/")


# Specs built from pieces a -v value is made of, and plain text.
spec_parts = st.sampled_from(
    [
        "data",
        "pg-data",
        "a",
        "/srv/x",
        "/",
        "./rel",
        "../up",
        "~/x",
        "C:\\x",
        "c:/x",
        "//c/x",
        "/var/lib/postgresql/data",
        "/a/../..",
        "ro",
        "rw",
        "ro,rw",
        "z",
        "nocopy",
        "",
        "x\n",
        "\n",
        "a b",
        "é",
        "\0",
    ]
) | st.text(max_size=12)
segments = st.sampled_from(["a", "data", "..", ".", "", "x y", "é", "\n"]) | st.from_regex(
    r"[a-z0-9_.-]{1,8}", fullmatch=True
)
abs_paths = st.lists(segments, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
sources = st.from_regex(DOCKER_NAME, fullmatch=True) | abs_paths | segments.map("./".__add__)
modes = st.sampled_from(["", "ro", "rw", "z", "ro,z", "nocopy", "rx"])
# Shaped like a real -v value (source:dest[:mode]) most of the time, so that many are valid.
shaped_specs = (
    st.builds(
        lambda source, dest, mode: ":".join(p for p in (source, dest, mode) if p),
        sources,
        abs_paths,
        modes,
    )
    | abs_paths
)
volume_specs = (
    shaped_specs | st.lists(spec_parts, min_size=1, max_size=4).map(":".join) | st.text(max_size=60)
)


@settings(max_examples=examples(200), deadline=None)
@given(spec=volume_specs)
def test_a_volume_spec_parses_to_a_sane_mount_or_a_one_line_usage_error(spec: str) -> None:
    try:
        mount = parse_volume_spec(spec, cwd=Path("/work/dir"))
    except UsageError as exc:
        tally("-v mount specs", "refused")
        assert one_line(exc), repr(str(exc))
    else:
        tally("-v mount specs", f"accepted ({mount.type})")
        check_mount(mount)


mount_fields = st.sampled_from(
    [
        "type=volume",
        "type=bind",
        "type=tmpfs",
        "src=data",
        "source=/srv/x",
        "source=./rel",
        "target=/data",
        "dst=/",
        "destination=/a/../b",
        "readonly",
        "ro=true",
        "ro=maybe",
        "volume-nocopy",
        "junk",
        "=x",
        '"target=/q,uoted"',
        "target=/x\n",
        "src=bad name",
    ]
) | st.text(max_size=15)
shaped_mounts = st.builds(
    lambda kind, source, target, ro: ",".join(
        f for f in (kind, f"src={source}" if source else "", f"target={target}", ro) if f
    ),
    st.sampled_from(["", "type=volume", "type=bind"]),
    sources | st.just(""),
    abs_paths,
    st.sampled_from(["", "readonly", "ro=false"]),
)
mount_specs = (
    shaped_mounts
    | st.lists(mount_fields, min_size=1, max_size=4).map(",".join)
    | st.text(max_size=60)
)


@settings(max_examples=examples(200), deadline=None)
@given(spec=mount_specs)
def test_a_mount_spec_parses_to_a_sane_mount_or_a_one_line_usage_error(spec: str) -> None:
    try:
        mount = parse_mount_spec(spec, cwd=Path("/work/dir"))
    except UsageError as exc:
        tally("--mount specs", "refused")
        assert one_line(exc), repr(str(exc))
    else:
        tally("--mount specs", f"accepted ({mount.type})")
        check_mount(mount)


@settings(max_examples=examples(25), deadline=None)
# "" is Docker's anonymous volume; a leading "-" is an option to argparse
@given(name=names.filter(lambda n: n and "\0" not in n and not n.startswith("-")))
def test_volume_create_through_the_cli_makes_exactly_that_volume_or_one_error_line(
    name: str,
) -> None:
    with tempfile.TemporaryDirectory() as state:
        result = lbdemo("volume", "create", "--state", state, name)
        volumes = Path(state) / "volumes"
        made = sorted(p.name for p in volumes.iterdir()) if volumes.exists() else []
        if result.status == 0:
            tally("CLI volume create", "created")
            assert made == [name] and result.out.strip() == name
            assert lbdemo("volume", "rm", "--state", state, name).status == 0
        else:
            tally("CLI volume create", f"refused (exit {result.status})")
            assert made == []
            assert len(result.err.strip().splitlines()) == 1, result.err
