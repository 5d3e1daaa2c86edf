"""``lbdemo cp | diff | logs`` and ``--format`` against Docker's documented shapes and texts."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from lbdemo.containers.containers import Container, ContainerStore
from lbdemo.containers.images import CATALOG_CONFIG_FILE
from tests.utils import Result, run_cli

NO_SUCH = "Error response from daemon: No such container: nope\n"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def lbdemo(state: Path, *argv: str) -> Result:
    return run_cli(*argv, "--state", str(state))


def create(state: Path, *argv: str) -> Container:
    result = lbdemo(state, "create", *argv)
    assert result.status == 0, result.err
    return ContainerStore(state).get(result.out.strip())


# -- cp ---------------------------------------------------------------------------------------


def test_cp_a_file_into_the_layer_and_back_out(state: Path, work: Path) -> None:
    web = create(state, "--name", "web", "lbdemo/catalog:1.0")
    (work / "catalog.conf").write_text("currency = EUR\n")
    into = lbdemo(state, "cp", "catalog.conf", "web:/etc/catalog/catalog.conf")
    assert (into.status, into.out) == (0, "")
    assert into.err == "Successfully copied 15B to web:/etc/catalog/catalog.conf\n"
    assert (web.layer / "etc/catalog/catalog.conf").read_text() == "currency = EUR\n"
    out = lbdemo(state, "cp", "web:etc/catalog/catalog.conf", "copy.conf")  # leading / optional
    assert out.status == 0 and out.err == "Successfully copied 15B to copy.conf\n"
    assert (work / "copy.conf").read_text() == "currency = EUR\n"


def test_cp_follows_dockers_table_for_files_and_directories(state: Path, work: Path) -> None:
    web = create(state, "--name", "web", "lbdemo/catalog:1.0")
    (work / "f.txt").write_text("f")
    (work / "d" / "sub").mkdir(parents=True)
    (work / "d" / "sub" / "x").write_text("x")
    assert lbdemo(state, "cp", "f.txt", "web:/etc").status == 0  # into an existing dir
    assert (web.layer / "etc/f.txt").read_text() == "f"
    missing_dir = lbdemo(state, "cp", "f.txt", "web:/nowhere/")
    assert missing_dir.status == 1
    assert missing_dir.err == "Error response from daemon: the destination directory must exist\n"
    no_parent = lbdemo(state, "cp", "f.txt", "web:/no/such/file")
    assert (
        no_parent.err
        == "Error response from daemon: Could not find the file /no/such in container web\n"
    )
    assert lbdemo(state, "cp", "d", "web:/srv").status == 0  # DEST missing: made from SRC
    assert (web.layer / "srv/sub/x").read_text() == "x"
    assert lbdemo(state, "cp", "d", "web:/srv").status == 0  # DEST a dir: SRC goes into it
    assert (web.layer / "srv/d/sub/x").read_text() == "x"
    assert lbdemo(state, "cp", "d/.", "web:/etc").status == 0  # "/." copies the contents
    assert (web.layer / "etc/sub/x").read_text() == "x"
    onto_file = lbdemo(state, "cp", "d", "web:" + CATALOG_CONFIG_FILE)
    assert onto_file.err == "Error response from daemon: cannot copy a directory to a file\n"
    out = lbdemo(state, "cp", "web:/etc/catalog", "here")
    assert out.status == 0 and (work / "here" / "catalog.conf").is_file()


def test_cp_goes_through_bind_mounts_and_volumes_and_refuses_read_only_ones(
    state: Path, work: Path, tmp_path: Path
) -> None:
    host = tmp_path / "host-config"
    create(
        state,
        "--name",
        "web",
        "-v",
        f"{host}:/etc/catalog",
        "-v",
        "logs:/var/log/catalog",
        "lbdemo/catalog:1.0",
    )
    create(state, "--name", "ro", "-v", f"{host}:/etc/catalog:ro", "lbdemo/catalog:1.0")
    (work / "catalog.conf").write_text("currency = USD\n")
    assert lbdemo(state, "cp", "catalog.conf", "web:/etc/catalog/").status == 0
    assert (host / "catalog.conf").read_text() == "currency = USD\n", "the host file changed"
    assert lbdemo(state, "cp", "catalog.conf", "web:/var/log/catalog/x").status == 0
    assert (state / "volumes/logs/_data/x").is_file()
    refused = lbdemo(state, "cp", "catalog.conf", "ro:/etc/catalog/catalog.conf")
    assert (refused.status, refused.err) == (
        1,
        "Error response from daemon: mounted volume is marked read-only\n",
    )
    assert lbdemo(state, "diff", "web").out == "", "nothing of it landed in the layer"


def test_cp_errors_are_one_line(state: Path, work: Path) -> None:
    create(state, "--name", "web", "lbdemo/catalog:1.0")
    missing_local = lbdemo(state, "cp", "nope", "web:/x")
    assert (missing_local.status, missing_local.err) == (
        1,
        f"lstat {work / 'nope'}: no such file or directory\n",
    )
    missing_inside = lbdemo(state, "cp", "web:/nope", ".")
    assert (
        missing_inside.err
        == "Error response from daemon: Could not find the file /nope in container web\n"
    )
    no_container = lbdemo(state, "cp", "nope:/x", ".")
    assert (no_container.status, no_container.err) == (1, NO_SUCH)
    for argv, text in (
        (("web:/a", "web:/b"), "copying between containers is not supported"),
        (("a", "b"), "must specify at least one container source"),
        (("-", "-"), "not both"),
        (("-", "b"), "at least one container"),
    ):
        result = lbdemo(state, "cp", *argv)
        assert result.status == 2 and text in result.err and result.err.count("\n") == 1


def test_cp_cannot_climb_out_of_the_container(state: Path, work: Path, tmp_path: Path) -> None:
    web = create(state, "--name", "web", "lbdemo/catalog:1.0")
    (web.layer / "escape").symlink_to(tmp_path)
    (work / "f").write_text("planted")
    result = lbdemo(state, "cp", "f", "web:/escape/planted")
    assert result.status == 1 and "resolves outside the container layer" in result.err
    assert not (tmp_path / "planted").exists()
    assert lbdemo(state, "cp", "f", "web:/../../../planted").status == 0
    assert (web.layer / "planted").is_file(), "'..' stops at the container's root"


def cp_stream(state: Path, *argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """``lbdemo cp`` as a real process: the tar stream is bytes on a real stdin/stdout."""
    return subprocess.run(
        [sys.executable, "-m", "lbdemo", "cp", *argv, "--state", str(state)],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def tar_of(entries: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


def test_cp_tar_streams_out_of_one_container_and_into_another(state: Path, work: Path) -> None:
    web = create(state, "--name", "web", "lbdemo/catalog:1.0")
    other = create(state, "--name", "other", "-v", "logs:/var/log/catalog", "lbdemo/catalog:1.0")
    (web.layer / "srv/site").mkdir(parents=True)
    (web.layer / "srv/site/index.html").write_text("<h1>hi</h1>")
    (web.layer / "srv/site/home").symlink_to("index.html")
    out = cp_stream(state, "web:/srv/site", "-")
    assert out.returncode == 0 and out.stderr == b"", out.stderr
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        assert sorted(tar.getnames()) == ["site", "site/home", "site/index.html"]
        assert tar.getmember("site/home").issym()
    contents = cp_stream(state, "web:/srv/site/.", "-")
    with tarfile.open(fileobj=io.BytesIO(contents.stdout)) as tar:
        assert sorted(tar.getnames()) == ["home", "index.html"]
    into = cp_stream(state, "-", "other:/var/log/catalog", stdin=out.stdout)
    assert (into.returncode, into.stdout, into.stderr) == (0, b"", b"")
    assert (state / "volumes/logs/_data/site/index.html").read_text() == "<h1>hi</h1>"
    assert os.readlink(state / "volumes/logs/_data/site/home") == "index.html"
    assert not (other.layer / "var/log/catalog/site").exists(), "into the volume, not the layer"


@pytest.mark.parametrize(
    ("archive", "error"),
    [
        (tar_of({"ok": b"1", "../../escaped": b"x"}), "refused archive entry"),
        (tar_of({"ok": b"1"}, {"out": "/etc/passwd"}), "refused archive entry"),
        (b"not a tar archive at all" * 40, "cannot read the archive"),
    ],
    ids=["dot-dot", "absolute-link", "garbage"],
)
def test_cp_refuses_a_hostile_or_broken_archive_and_changes_nothing(
    state: Path, work: Path, tmp_path: Path, archive: bytes, error: str
) -> None:
    web = create(state, "--name", "web", "lbdemo/catalog:1.0")
    before = sorted(p.relative_to(web.layer) for p in web.layer.rglob("*"))
    result = cp_stream(state, "-", "web:/etc", stdin=archive)
    assert result.returncode == 1
    assert result.stderr.decode().startswith("Error response from daemon: " + error)
    assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr
    assert sorted(p.relative_to(web.layer) for p in web.layer.rglob("*")) == before
    assert not (tmp_path / "escaped").exists() and not list((state / "tmp").iterdir())


def test_cp_stream_into_a_file_or_a_missing_directory_is_refused(state: Path, work: Path) -> None:
    create(state, "--name", "web", "lbdemo/catalog:1.0")
    for dest in ("web:" + CATALOG_CONFIG_FILE, "web:/no/such"):
        result = cp_stream(state, "-", dest, stdin=tar_of({"f": b"1"}))
        assert result.returncode == 1
        assert result.stderr.decode() == (
            f'Error response from daemon: destination "{dest}" must be a directory\n'
        )


# -- diff ---------------------------------------------------------------------------------------


def test_diff_prints_docker_diffs_lines(state: Path, work: Path) -> None:
    web = create(state, "--name", "web", "lbdemo/catalog:1.0")
    assert lbdemo(state, "diff", "web") == Result(0, "", "")
    (web.layer / "etc/catalog/catalog.conf").write_text("currency = EUR\n")
    (web.layer / "var/log/catalog").rmdir()
    result = lbdemo(state, "diff", "web")
    assert result.out == (
        "C /etc\nC /etc/catalog\nC /etc/catalog/catalog.conf\nC /var\nC /var/log\n"
        "D /var/log/catalog\n"
    )
    missing = lbdemo(state, "diff", "nope")
    assert (missing.status, missing.err) == (1, NO_SUCH)


# -- logs ---------------------------------------------------------------------------------------


def test_logs_prints_the_output_kept_beside_the_record(state: Path) -> None:
    web = create(state, "--name", "web", "lbdemo/catalog:1.0")
    assert lbdemo(state, "logs", "web") == Result(0, "", ""), "never started: no output yet"
    web.log_path.write_text("one\ntwo\nthree\n")
    assert lbdemo(state, "logs", "web").out == "one\ntwo\nthree\n"
    assert lbdemo(state, "logs", "--tail", "2", "web").out == "two\nthree\n"
    assert lbdemo(state, "logs", "-n", "0", "web").out == ""
    assert lbdemo(state, "logs", "--tail", "all", "web").out == "one\ntwo\nthree\n"
    assert lbdemo(state, "logs", "-f", "web").out == "one\ntwo\nthree\n", "-f ends: not running"
    bad = lbdemo(state, "logs", "--tail", "x", "web")
    assert bad.status == 2 and bad.err.count("\n") == 1
    missing = lbdemo(state, "logs", "nope")
    assert (missing.status, missing.err) == (1, NO_SUCH)
    assert lbdemo(state, "rm", "web").status == 0
    assert not web.log_path.exists(), "the output goes with the container"


# -- --format -------------------------------------------------------------------------------------


def test_ps_format_templates(state: Path) -> None:
    web = create(
        state, "--name", "web", "-v", "data:/data", "-l", "tier=front", "lbdemo/catalog:1.0"
    )
    plain = lbdemo(state, "ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}} {{.Mounts}}")
    assert plain.out == f"{web.short_id} web Created data\n"
    label = lbdemo(state, "ps", "-a", "--format", '{{.Label "tier"}} {{json .Names}}')
    assert label.out == 'front "web"\n'
    table = lbdemo(state, "ps", "-a", "--format", r"table {{.Names}}\t{{.State}}")
    assert table.out == "NAMES     STATE\nweb       created\n"
    as_json = json.loads(lbdemo(state, "ps", "-a", "--format", "json").out)
    assert as_json["Names"] == "web" and as_json["ID"] == web.short_id
    assert lbdemo(state, "ps", "--format", "{{.Names}}").out == "", "none running: no lines"


def test_volume_ls_and_inspect_formats(state: Path) -> None:
    assert lbdemo(state, "volume", "create", "pgdata").status == 0
    assert lbdemo(state, "volume", "create", "cfg").status == 0
    assert lbdemo(state, "volume", "ls", "--format", "{{.Name}}").out == "cfg\npgdata\n"
    table = lbdemo(state, "volume", "ls", "--format", r"table {{.Name}}\t{{.Driver}}")
    assert table.out == "VOLUME NAME   DRIVER\ncfg           local\npgdata        local\n"
    mountpoint = lbdemo(state, "volume", "inspect", "-f", "{{.Mountpoint}}", "pgdata")
    assert mountpoint.out == f"{state / 'volumes/pgdata/_data'}\n"


def test_images_format(state: Path) -> None:
    out = lbdemo(state, "images", "--format", "{{.Repository}}:{{.Tag}}").out.splitlines()
    assert "lbdemo/catalog:1.0" in out and "lbdemo/catalog:latest" in out
    table = lbdemo(state, "images", "--format", r"table {{.Repository}}\t{{.Tag}}").out
    assert table.splitlines()[0] == "REPOSITORY        TAG"


def test_inspect_format_reads_the_inspect_object(state: Path, tmp_path: Path) -> None:
    host = tmp_path / "cfg"
    create(state, "--name", "web", "-v", f"{host}:/etc/catalog:ro", "lbdemo/catalog:1.0")
    mounts = lbdemo(state, "inspect", "-f", "{{json .Mounts}}", "web")
    assert json.loads(mounts.out) == [
        {
            "Type": "bind",
            "Source": str(host),
            "Destination": "/etc/catalog",
            "Mode": "ro",
            "RW": False,
            "Propagation": "rprivate",
        }
    ]
    each = lbdemo(
        state,
        "inspect",
        "--format",
        "{{.Name}} {{.Config.Image}} {{.State.Status}}{{range .Mounts}} {{.Destination}}{{end}}",
        "web",
    )
    assert each.out == "/web lbdemo/catalog:1.0 created /etc/catalog\n"
    unknown = lbdemo(state, "inspect", "-f", "{{.Nope}}", "web")
    assert unknown.status == 2
    assert unknown.err == (
        'lbdemo: error: template parsing error: template: :1: executing "" at <.Nope>: '
        'map has no entry for key "Nope"\n'
    )


@pytest.mark.parametrize(
    "command",
    [("ps",), ("images",), ("volume", "ls"), ("inspect", "x"), ("volume", "inspect", "x")],
)
def test_an_unsupported_template_is_one_line_and_status_2(
    state: Path, command: tuple[str, ...]
) -> None:
    flag = "-f" if "inspect" in command else "--format"
    result = lbdemo(state, *command, flag, "{{.Name | upper}}")
    assert result.status == 2 and result.out == ""
    assert result.err.count("\n") == 1 and "pipelines ('|') are not supported" in result.err


def test_a_one_letter_volume_name_is_too_short_as_docker_says(state: Path) -> None:
    result = lbdemo(state, "create", "-v", "a:/x", "lbdemo/catalog:1.0")
    assert result.status == 125
    assert result.err == (
        "Error response from daemon: create a: volume name is too short, names should be at "
        "least two alphanumeric characters\n"
    )
    assert not os.path.exists(state / "containers") or not os.listdir(state / "containers")
