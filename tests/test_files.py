"""Outputs go through the path the user named (issue 21, item 3): a link stays a link, a device
stays a device, a directory is refused in one line; a regular file is written whole or not at
all."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from lbdemo.errors import UsageError
from lbdemo.files import write_json, write_text
from tests.utils import run_cli


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


def test_a_new_name_is_created(tmp_path: Path) -> None:
    write_text(tmp_path / "out.md", "hello\n")
    assert (tmp_path / "out.md").read_text() == "hello\n"
    assert _leftovers(tmp_path) == []


def test_a_regular_file_is_replaced_whole_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    target.write_text("old, and longer than the new text\n")
    target.chmod(0o640)
    write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _leftovers(tmp_path) == []


def test_a_symlink_to_a_file_stays_a_link_and_its_target_gets_the_text(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "report.md"
    target.write_text("old\n")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    write_text(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new\n"
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "real") == []


def test_a_dangling_symlink_creates_what_it_names(tmp_path: Path) -> None:
    target = tmp_path / "made-by-the-write.md"
    link = tmp_path / "link.md"
    link.symlink_to(target.name)  # relative, as `ln -s` users write them
    write_text(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == target.name
    assert target.read_text() == "new\n"


def test_a_character_device_is_written_through_not_replaced(tmp_path: Path) -> None:
    """`--markdown /dev/null` as root must leave /dev/null a device. A node of our own with
    /dev/null's numbers (1, 3) stands in for it, so that a failure cannot break the machine."""
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    before = null.lstat()
    write_text(null, "discarded\n")
    after = null.lstat()
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    assert _leftovers(tmp_path) == []


def test_dev_null_itself_stays_a_device() -> None:
    before = os.lstat("/dev/null")
    if os.geteuid() == 0 and not stat.S_ISCHR(before.st_mode):
        pytest.skip("/dev/null is not a device here")
    write_text("/dev/null", "discarded\n")
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_a_symlink_to_a_device_is_written_through(tmp_path: Path) -> None:
    link = tmp_path / "sink"
    link.symlink_to("/dev/null")
    write_text(link, "discarded\n")
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_a_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_text(fifo, "through the pipe\n")
    reader.join(10)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert _leftovers(tmp_path) == []


def test_a_directory_is_refused_in_one_line_and_left_alone(tmp_path: Path) -> None:
    directory = tmp_path / "dir"
    directory.mkdir()
    (directory / "inside").write_text("kept\n")
    with pytest.raises(UsageError, match="is a directory") as caught:
        write_text(directory, "x\n")
    assert "\n" not in str(caught.value) and str(directory) in str(caught.value)
    assert (directory / "inside").read_text() == "kept\n" and _leftovers(tmp_path) == []


def test_a_symlink_to_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "dir")
    with pytest.raises(UsageError, match="is a directory"):
        write_text(link, "x\n")
    assert link.is_symlink() and list((tmp_path / "dir").iterdir()) == []


def test_a_socket_is_refused_in_one_line(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(UsageError, match="is a socket"):
            write_text(path, "x\n")
        assert stat.S_ISSOCK(path.lstat().st_mode)


def test_write_json_goes_through_the_same_rules(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    target.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_json(link, {"a": 1})
    assert link.is_symlink() and target.read_text() == '{\n  "a": 1\n}\n'


def test_check_markdown_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    """End to end: `lbdemo check --history H --markdown LINK` writes the report where the link
    points, and the link is still there."""
    from lbdemo.history import HistoryWriter

    history = tmp_path / "h.jsonl"
    with HistoryWriter(history, wall_anchor=1.0, mono_anchor=0.0) as writer:
        writer.record(
            client="u1",
            op="write",
            key="k",
            write_id="w1",
            price=1,
            invoke=1.0,
            complete=1.1,
            status=200,
            outcome="ok",
            replica="r1",
        )
    target = tmp_path / "kept" / "report.md"
    target.parent.mkdir()
    target.write_text("")
    link = tmp_path / "report.md"
    link.symlink_to(target)
    result = run_cli("check", "--history", str(history), "--markdown", str(link))
    assert result.status == 0, result.err
    assert link.is_symlink() and target.read_text().startswith("# lbdemo report")
