"""``-v`` and ``--mount`` specs are read as Docker reads them, and never into a wrong mount."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lbdemo.containers.errors import InvalidNameError
from lbdemo.containers.mounts import Mount, parse_mount_spec, parse_volume_spec
from lbdemo.errors import UsageError


def test_name_colon_path_is_a_named_volume() -> None:
    mount = parse_volume_spec("pgdata:/var/lib/postgresql/data")
    assert (mount.type, mount.name, mount.destination, mount.rw) == (
        "volume",
        "pgdata",
        "/var/lib/postgresql/data",
        True,
    )


def test_absolute_source_is_a_bind_mount_and_ro_makes_it_read_only() -> None:
    mount = parse_volume_spec("/srv/config:/etc/catalog:ro")
    assert (mount.type, mount.source, mount.destination, mount.rw, mount.mode) == (
        "bind",
        "/srv/config",
        "/etc/catalog",
        False,
        "ro",
    )


def test_destination_alone_is_an_anonymous_volume() -> None:
    mount = parse_volume_spec("/cache")
    assert (mount.type, mount.name, mount.destination) == ("volume", "", "/cache")


def test_dot_source_is_a_bind_of_a_path_relative_to_the_working_directory(tmp_path: Path) -> None:
    assert parse_volume_spec("./data:/x", cwd=tmp_path).source == str(tmp_path / "data")
    assert parse_volume_spec("../up:/x", cwd=tmp_path).source == str(tmp_path.parent / "up")
    assert parse_volume_spec(".:/x", cwd=tmp_path).type == "bind"


def test_relative_source_without_dot_is_a_volume_name_checked_by_dockers_rule() -> None:
    with pytest.raises(InvalidNameError) as info:
        parse_volume_spec("data/sub:/x")
    assert str(info.value) == (
        'create data/sub: "data/sub" includes invalid characters for a local volume name, only '
        '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
        "use absolute path"
    )


@pytest.mark.parametrize(
    "spec",
    ["C:\\data:/x", "C:/data:/x", "//c/data:/x", "c:\\data:/x:ro", "data:C:\\app", "/x:C:/y"],
)
def test_windows_style_paths_get_a_clear_error_never_a_mount(spec: str) -> None:
    with pytest.raises(InvalidNameError, match="Windows path"):
        parse_volume_spec(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("data:relative", "'relative' mount path must be absolute"),
        ("data:/", "destination can't be '/'"),
        ("/x:rw", "invalid volume specification: '/x:rw'"),
        ("a:/b:/c:ro", "invalid volume specification: 'a:/b:/c:ro'"),
        (":/x", "invalid volume specification: ':/x'"),
        ("data:/x:rx", "invalid mode: rx"),
        ("data:/x:ro,rw", "invalid mode: ro,rw"),
    ],
)
def test_malformed_volume_specs_are_refused_with_dockers_text(spec: str, message: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        parse_volume_spec(spec)
    assert message in str(info.value)


def test_empty_and_nul_specs_are_refused() -> None:
    with pytest.raises(UsageError):
        parse_volume_spec("")
    with pytest.raises(InvalidNameError):
        parse_volume_spec("da\0ta:/x")


def test_container_destination_is_cleaned_like_a_path_inside_the_container() -> None:
    assert parse_volume_spec("data:/var/../srv//db/").destination == "/srv/db"


def test_mount_flag_accepts_dockers_key_aliases_and_readonly_forms() -> None:
    assert parse_mount_spec("type=volume,source=data,target=/d") == Mount(
        type="volume", destination="/d", name="data"
    )
    assert parse_mount_spec("src=data,dst=/d,readonly").rw is False
    assert parse_mount_spec("src=data,destination=/d,ro=true").rw is False
    assert parse_mount_spec("src=data,target=/d,readonly=false").rw is True
    bind = parse_mount_spec("type=bind,src=/srv/cfg,dst=/etc/cfg,ro=1")
    assert (bind.type, bind.source, bind.rw, bind.create_source) == (
        "bind",
        "/srv/cfg",
        False,
        False,
    )
    assert parse_mount_spec("type=volume,dst=/anon").name == ""


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("type=volume,src=data", "target is required"),
        ("type=tmpfs,dst=/t", "type=tmpfs"),
        ("src=data,dst=/d,colour=blue", "unexpected key 'colour'"),
        ("src=data,dst=/d,bogus", "invalid field 'bogus' must be a key=value pair"),
        ("src=data,dst=/d,ro=maybe", "invalid value for ro: maybe"),
    ],
)
def test_malformed_mount_flags_are_usage_errors(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_mount_spec(spec)


def test_mount_flag_bind_needs_an_absolute_source_and_rejects_windows_paths() -> None:
    with pytest.raises(InvalidNameError, match="mount path must be absolute"):
        parse_mount_spec("type=bind,src=data,dst=/x")
    with pytest.raises(InvalidNameError, match="field Source must not be empty"):
        parse_mount_spec("type=bind,dst=/x")
    with pytest.raises(InvalidNameError, match="Windows path"):
        parse_mount_spec("type=bind,src=C:\\data,dst=/x")
    with pytest.raises(InvalidNameError, match="Windows path"):
        parse_mount_spec('type=bind,"src=//c/data",dst=/x')


def test_mount_round_trips_through_its_record() -> None:
    mount = parse_volume_spec("/srv/a:/a:ro")
    assert Mount.from_record(mount.to_record()) == mount


@pytest.mark.parametrize(
    ("parse", "spec"),
    [
        (parse_volume_spec, "\n"),
        (parse_volume_spec, "data:/x:r\no"),
        (parse_volume_spec, "bad\rname:/x"),
        (parse_mount_spec, "target=/x\n,src=a"),
        (parse_mount_spec, "type=volume,src=a\tb,target=/x"),
        (parse_mount_spec, "type=tmpfs\n,target=/x"),
    ],
)
def test_a_spec_with_a_control_character_is_refused_in_one_line(parse: Any, spec: str) -> None:
    """Found by the fuzzer (tests/fuzz): a newline in a spec was quoted raw, so the CLI's
    one-line error became several lines (and csv's own error leaked through for --mount)."""
    with pytest.raises(UsageError) as info:
        parse(spec)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message and "\t" not in message
